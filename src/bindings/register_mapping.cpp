// Mapping: construction, state, and the memory calls beyond mmap.mmap.  The
// Python class memshare.Mapping derives from this one and documents it.
#include "bindings.hpp"

#include <memshare/base/flags.hpp>
#include <memshare/mapping/mapping.hpp>

#include <pybind11/numpy.h>

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <optional>

namespace memshare::bindings {
namespace {

file_mode parse_mode(const std::string& mode) {
    // numpy.memmap's modes, short and long.
    if (mode == "r" || mode == "readonly") {
        return file_mode::read;
    }
    if (mode == "r+" || mode == "readwrite") {
        return file_mode::read_write;
    }
    if (mode == "w+" || mode == "write") {
        return file_mode::create;
    }
    if (mode == "c" || mode == "copyonwrite") {
        return file_mode::copy_on_write;
    }
    throw py::value_error("mode must be one of 'r', 'r+', 'w+' or 'c' (as for "
                          "numpy.memmap), not '" +
                          mode + "'");
}

py::array_t<bool> residency(Mapping& self) {
    const std::vector<std::uint8_t> resident = self.residency();
    py::array_t<bool> pages(static_cast<py::ssize_t>(resident.size()));
    std::copy(resident.begin(), resident.end(), pages.mutable_data());
    return pages;
}

void bind_construction(py::class_<Mapping>& cls, py::module_& m) {
    cls.def(py::init([](Mapping& other) { return other.take(); }), py::arg("other"),
            "Take over the memory of another Mapping, which is closed.");
    cls.def(py::init([](int_arg fileno, index_arg length, int_arg flags, int_arg prot,
                        int_arg access, index_arg offset, bool trackfd) {
                return Mapping::from_fd(
                    fileno.value, length.value, flags.value, prot.value,
                    static_cast<access_mode>(access.value), offset.value, trackfd);
            }),
            py::arg("fileno"), py::arg("length"), py::arg("flags") = MAP_SHARED,
            py::arg("prot") = PROT_READ | PROT_WRITE, py::arg("access") = 0,
            py::arg("offset") = 0, py::kw_only(), py::arg("trackfd") = true,
            "Map `length` bytes of `fileno` (-1: anonymous memory), as mmap.mmap.");

    m.def(
        "map_anonymous",
        [](index_arg length, bool shared, int_arg prot, int_arg flags) {
            return Mapping::anonymous_memory(length.value, shared, prot.value,
                                             flags.value);
        },
        py::arg("length"), py::arg("shared"), py::arg("prot"), py::arg("flags"),
        "Map anonymous memory; `flags` adds MAP_ flags.");
    m.def(
        "map_path",
        [](const py::bytes& path, const std::string& mode,
           std::optional<index_arg> length, index_arg offset, int_arg flags) {
            return Mapping::from_path(std::string(path), parse_mode(mode),
                                      value_of(length), offset.value, flags.value);
        },
        py::arg("path"), py::arg("mode"), py::arg("length"), py::arg("offset"),
        py::arg("flags"), "Map a file by (fs-encoded) path, with a numpy.memmap mode.");
    m.def(
        "map_fd",
        [](int_arg fd, const std::string& mode, std::optional<index_arg> length,
           index_arg offset, int_arg flags) {
            return Mapping::from_file_descriptor(fd.value, parse_mode(mode),
                                                 value_of(length), offset.value,
                                                 flags.value);
        },
        py::arg("fd"), py::arg("mode"), py::arg("length"), py::arg("offset"),
        py::arg("flags"), "Map a file by descriptor, with a numpy.memmap mode.");
}

void bind_state(py::class_<Mapping>& cls) {
    cls.def_property_readonly("closed", &Mapping::closed, "Whether close() was called.")
        .def("close", &Mapping::close, "Unmap the memory; BufferError while exported.")
        .def(
            "__enter__",
            [](py::object self) {
                self.cast<Mapping&>().require_open();
                return self;
            },
            "Enter a with block.")
        .def(
            "__exit__",
            [](Mapping& self, const py::object&, const py::object&, const py::object&) {
                self.close();
            },
            py::arg("exc_type"), py::arg("exc_value"), py::arg("traceback"),
            "Close the mapping.")
        .def("size", &Mapping::size,
             "The size of the file (of the memory if anonymous).")
        .def(
            "resize",
            [](open_mapping self, index_arg length) { self->resize(length.value); },
            py::arg("newsize"), py::pos_only(), "Resize the mapping, and its file.")
        .def("fileno", &Mapping::fileno, "The descriptor the mapping keeps, or -1.")
        .def_property_readonly(
            "address",
            [](const Mapping& self) {
                return reinterpret_cast<std::uintptr_t>(self.data());
            },
            "The address of the first byte.")
        .def_property_readonly("length", &Mapping::length, "The length in bytes.")
        .def_property_readonly("offset", &Mapping::offset, "The file offset mapped.")
        .def_property_readonly("flags", &Mapping::flags, "The MAP_ flags used.")
        .def_property_readonly("shared", &Mapping::shared, "Whether writes are shared.")
        .def_property_readonly("anonymous", &Mapping::anonymous,
                               "Whether no file backs it.")
        .def_property_readonly("prot", &Mapping::prot, "The protection of every page.")
        .def_property_readonly(
            "access",
            [](const Mapping& self) { return static_cast<int>(self.access()); },
            "The ACCESS_ mode.")
        .def_property_readonly("exports", &Mapping::exports,
                               "How many buffers and calls point into the mapping.");
}

void bind_memory_calls(py::class_<Mapping>& cls) {
    cls.def(
           "protect",
           [](open_mapping self, int_arg prot, index_arg start,
              std::optional<index_arg> length) {
               self->protect(prot.value, start.value, value_of(length));
           },
           py::arg("prot"), py::arg("start") = 0, py::arg("length") = py::none(),
           "mprotect() a range.")
        .def(
            "sync",
            [](open_mapping self, index_arg start, std::optional<index_arg> length,
               int_arg flags) {
                self->sync(start.value, value_of(length), flags.value);
            },
            py::arg("start") = 0, py::arg("length") = py::none(), py::kw_only(),
            py::arg("flags") = MS_SYNC, "msync() a range.")
        .def(
            "advise",
            [](open_mapping self, int_arg advice, index_arg start,
               std::optional<index_arg> length) {
                self->advise(advice.value, start.value, value_of(length));
            },
            py::arg("advice"), py::arg("start") = 0, py::arg("length") = py::none(),
            "madvise() a range.")
        .def(
            "madvise",
            [](open_mapping self, int_arg option, index_arg start,
               const optional_index& length) {
                self->madvise(option.value, start.value, length.value);
            },
            py::arg("option"), py::arg("start") = 0,
            py::arg_v("length", not_given(), "..."), py::pos_only(),
            "madvise() a range (to the end if no length), as mmap.mmap.madvise.")
        .def(
            "lock",
            [](open_mapping self, index_arg start, std::optional<index_arg> length,
               bool on_fault) { self->lock(start.value, value_of(length), on_fault); },
            py::arg("start") = 0, py::arg("length") = py::none(), py::kw_only(),
            py::arg("on_fault") = false, "mlock() a range.")
        .def(
            "unlock",
            [](open_mapping self, index_arg start, std::optional<index_arg> length) {
                self->unlock(start.value, value_of(length));
            },
            py::arg("start") = 0, py::arg("length") = py::none(), "munlock() a range.")
        .def(
            "populate",
            [](open_mapping self, bool write, index_arg start,
               std::optional<index_arg> length) {
                self->populate(write, start.value, value_of(length));
            },
            py::arg("write") = false, py::arg("start") = 0,
            py::arg("length") = py::none(),
            "Fault pages in (MADV_POPULATE_READ/WRITE).")
        .def("residency", &residency, "mincore(): one bool per page, True if resident.")
        .def("set_name", &Mapping::set_name, py::arg("name"),
             "Name anonymous memory in /proc/PID/maps.");
}

} // namespace

void register_mapping(py::module_& m) {
    py::class_<Mapping> cls(m, "Mapping", py::custom_type_setup(enable_mapping_slots),
                            "A memory mapping with the interface of mmap.mmap.");
    bind_construction(cls, m);
    bind_state(cls);
    bind_mapping_io(cls);
    bind_memory_calls(cls);
}

} // namespace memshare::bindings
