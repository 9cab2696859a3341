// Mapping: the file-like interface of mmap.mmap (read, write, find, seek),
// with its argument parsing and its exceptions.
#include "bindings.hpp"

#include <memshare/mapping/mapping.hpp>

#include <optional>

namespace memshare::bindings {
namespace {

// The methods here take their arguments by position only, as mmap.mmap's
// do, and check that the mapping is open before converting them.

// find() or rfind(), which differ only in the direction of the search.
auto finder(bool reverse) {
    return [reverse](open_mapping self, const bytes_arg& sub,
                     const optional_index& start, const optional_index& end) {
        return self->find(sub.bytes, start.value, end.value, reverse);
    };
}

void bind_reading(py::class_<Mapping>& cls) {
    cls.def(
           "read",
           [](open_mapping self, const std::optional<index_arg>& n) {
               return bytes_from(*self, self->read(value_of(n)));
           },
           py::arg("n") = py::none(), py::pos_only(),
           "Read up to n bytes (all if None) from the position.")
        .def("read_byte", &Mapping::read_byte, "Read one byte, as an int.")
        .def(
            "readline", [](Mapping& self) { return bytes_from(self, self.readline()); },
            "Read through the next newline.")
        .def("find", finder(false), py::arg("sub"),
             py::arg_v("start", not_given(), "..."),
             py::arg_v("end", not_given(), "..."), py::pos_only(),
             "The lowest index of sub in [start, end) (from the position to the end "
             "if left out), or -1.")
        .def("rfind", finder(true), py::arg("sub"),
             py::arg_v("start", not_given(), "..."),
             py::arg_v("end", not_given(), "..."), py::pos_only(),
             "The highest index of sub in [start, end) (from the position to the "
             "end if left out), or -1.");
}

void bind_writing(py::class_<Mapping>& cls) {
    cls.def(
           "write",
           [](open_mapping self, const bytes_arg& data) {
               self->copy_in(self->write(data.bytes.size()), data.bytes.data());
               return data.bytes.size();
           },
           py::arg("bytes"), py::pos_only(),
           "Write bytes at the position; return how many.")
        .def(
            "write_byte",
            [](open_mapping self, index_arg byte) {
                if (byte.value < 0 || byte.value > 255) {
                    PyErr_SetString(
                        PyExc_OverflowError,
                        byte.value < 0
                            ? "unsigned byte integer is less than minimum"
                            : "unsigned byte integer is greater than maximum");
                    throw py::error_already_set();
                }
                self->write_byte(static_cast<std::uint8_t>(byte.value));
            },
            py::arg("byte"), py::pos_only(), "Write one byte at the position.")
        .def(
            "move",
            [](open_mapping self, index_arg dest, index_arg src, index_arg count) {
                self->move(dest.value, src.value, count.value);
            },
            py::arg("dest"), py::arg("src"), py::arg("count"), py::pos_only(),
            "Copy count bytes from src to dest within the mapping.")
        .def(
            "flush",
            [](open_mapping self, index_arg offset, const optional_index& size) {
                self->flush(offset.value, size.value);
            },
            py::arg("offset") = 0, py::arg_v("size", not_given(), "..."),
            py::pos_only(), "Write changes back to the file (msync MS_SYNC).");
}

void bind_position(py::class_<Mapping>& cls) {
    cls.def("tell", &Mapping::tell, "The position.")
        .def(
            "seek",
            [](open_mapping self, index_arg pos, int_arg whence) {
                return self->seek(pos.value, whence.value);
            },
            py::arg("pos"), py::arg("whence") = 0, py::pos_only(),
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
