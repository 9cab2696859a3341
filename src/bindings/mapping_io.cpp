// Mapping: the file-like interface of mmap.mmap (read, write, find, seek),
// with its argument parsing and its exceptions.
#include "bindings.hpp"

#include <memshare/mapping.hpp>

#include <optional>

namespace memshare::bindings {
namespace {

// find() or rfind(), which differ only in the direction of the search.
auto finder(bool reverse) {
    return [reverse](Mapping& self, const bytes_arg& sub,
                     const std::optional<index_arg>& start,
                     const std::optional<index_arg>& end) {
        return self.find(sub.bytes, value_of(start), value_of(end), reverse);
    };
}

void bind_reading(py::class_<Mapping>& cls) {
    cls.def(
           "read",
           [](Mapping& self, const std::optional<index_arg>& n) {
               return bytes_from(self, self.read(value_of(n)));
           },
           py::arg("n") = py::none(),
           "Read up to n bytes (all if None) from the position.")
        .def("read_byte", &Mapping::read_byte, "Read one byte, as an int.")
        .def(
            "readline", [](Mapping& self) { return bytes_from(self, self.readline()); },
            "Read through the next newline.")
        .def("find", finder(false), py::arg("sub"), py::arg("start") = py::none(),
             py::arg("end") = py::none(),
             "The lowest index of sub in [start, end), or -1.")
        .def("rfind", finder(true), py::arg("sub"), py::arg("start") = py::none(),
             py::arg("end") = py::none(),
             "The highest index of sub in [start, end), or -1.");
}

void bind_writing(py::class_<Mapping>& cls) {
    cls.def(
           "write",
           [](Mapping& self, const bytes_arg& data) {
               self.copy_in(self.write(data.bytes.size()), data.bytes.data());
               return data.bytes.size();
           },
           py::arg("bytes"), "Write bytes at the position; return how many.")
        .def(
            "write_byte",
            [](Mapping& self, index_arg byte) {
                self.require_open();
                if (byte.value < 0 || byte.value > 255) {
                    PyErr_SetString(
                        PyExc_OverflowError,
                        byte.value < 0
                            ? "unsigned byte integer is less than minimum"
                            : "unsigned byte integer is greater than maximum");
                    throw py::error_already_set();
                }
                self.write_byte(static_cast<std::uint8_t>(byte.value));
            },
            py::arg("byte"), "Write one byte at the position.")
        .def(
            "move",
            [](Mapping& self, index_arg dest, index_arg src, index_arg count) {
                self.move(dest.value, src.value, count.value);
            },
            py::arg("dest"), py::arg("src"), py::arg("count"),
            "Copy count bytes from src to dest within the mapping.")
        .def(
            "flush",
            [](Mapping& self, index_arg offset, const std::optional<index_arg>& size) {
                self.flush(offset.value, value_of(size));
            },
            py::arg("offset") = 0, py::arg("size") = py::none(),
            "Write changes back to the file (msync MS_SYNC).");
}

void bind_position(py::class_<Mapping>& cls) {
    cls.def("tell", &Mapping::tell, "The position.")
        .def(
            "seek",
            [](Mapping& self, index_arg pos, int_arg whence) {
                return self.seek(pos.value, whence.value);
            },
            py::arg("pos"), py::arg("whence") = 0,
            "Move the position (whence: 0 start, 1 current, 2 end); return it.")
        .def(
            "seekable", [](const Mapping&) { return true; },
            "True: mappings can seek.");
}

} // namespace

py::bytes bytes_from(Mapping& self, const Mapping::byte_run& run) {
    PyObject* bytes =
        PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(run.count));
    if (bytes == nullptr) {
        throw py::error_already_set();
    }
    auto result = py::reinterpret_steal<py::bytes>(bytes);
    self.copy_out(run, reinterpret_cast<std::byte*>(PyBytes_AS_STRING(bytes)));
    return result;
}

void bind_mapping_io(py::class_<Mapping>& cls) {
    bind_reading(cls);
    bind_writing(cls);
    bind_position(cls);
}

} // namespace memshare::bindings
