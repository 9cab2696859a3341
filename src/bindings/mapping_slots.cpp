// The C slots of Mapping.  The buffer protocol counts exports as CPython's
// mmap does, so close() and resize() refuse while a memoryview or an array
// points into the mapping.  Subscripts and len() are slots rather than
// pybind11 methods because they are called once per byte in loops, where
// pybind11's general dispatch would make them several times slower than
// mmap's.
#include "bindings.hpp"

#include <memshare/mapping/mapping.hpp>

namespace memshare::bindings {
namespace {

Mapping& mapping_of(PyObject* self) {
    return py::handle(self).cast<Mapping&>();
}

int get_buffer(PyObject* self, Py_buffer* view, int flags) {
    try {
        auto& mapping = mapping_of(self);
        const Mapping::exported_buffer exported = mapping.export_buffer();
        if (PyBuffer_FillInfo(view, self, exported.data,
                              static_cast<Py_ssize_t>(exported.length),
                              exported.readonly ? 1 : 0, flags) != 0) {
            mapping.release_buffer(exported.readonly);
            return -1;
        }
        return 0;
    } catch (...) {
        view->obj = nullptr;
        set_error_from_current_exception();
        return -1;
    }
}

void release_buffer(PyObject* self, Py_buffer* view) {
    try {
        mapping_of(self).release_buffer(view->readonly != 0);
    } catch (...) {
        set_error_from_current_exception();
        PyErr_WriteUnraisable(self);
    }
}

// -- subscripts ------------------------------------------------------------------

// An index as mmap takes it: IndexError when it does not fit Py_ssize_t.
std::size_t index_of(const Mapping& self, py::handle key) {
    const Py_ssize_t index = PyNumber_AsSsize_t(key.ptr(), PyExc_IndexError);
    if (index == -1 && PyErr_Occurred() != nullptr) {
        throw py::error_already_set();
    }
    return self.index(index);
}

// A slice resolved against the mapping, as the bytes it names.
Mapping::byte_run run_of(const Mapping& self, py::handle key) {
    Py_ssize_t start = 0;
    Py_ssize_t stop = 0;
    Py_ssize_t step = 0;
    if (PySlice_Unpack(key.ptr(), &start, &stop, &step) < 0) {
        throw py::error_already_set();
    }
    const Py_ssize_t count = PySlice_AdjustIndices(
        static_cast<Py_ssize_t>(self.length()), &start, &stop, step);
    return {static_cast<std::size_t>(count > 0 ? start : 0), step,
            static_cast<std::size_t>(count)};
}

py::object get_item(Mapping& self, py::handle key) {
    self.require_open();
    if (PyIndex_Check(key.ptr()) != 0) {
        return py::int_(self.byte_at(index_of(self, key)));
    }
    if (!PySlice_Check(key.ptr())) {
        throw py::type_error("mmap indices must be integers");
    }
    return bytes_from(self, run_of(self, key));
}

void set_item(Mapping& self, py::handle key, py::handle value) {
    self.require_modifiable();
    if (PyIndex_Check(key.ptr()) != 0) {
        const std::size_t at = index_of(self, key);
        if (PyIndex_Check(value.ptr()) == 0) {
            throw py::type_error("mmap item value must be an int");
        }
        const Py_ssize_t byte = PyNumber_AsSsize_t(value.ptr(), PyExc_TypeError);
        if (byte == -1 && PyErr_Occurred() != nullptr) {
            throw py::error_already_set();
        }
        if (byte < 0 || byte > 255) {
            throw py::value_error("mmap item value must be in range(0, 256)");
        }
        self.set_byte(at, static_cast<std::uint8_t>(byte));
        return;
    }
    if (!PySlice_Check(key.ptr())) {
        throw py::type_error("mmap indices must be integer");
    }
    const Mapping::byte_run run = run_of(self, key);
    const borrowed_bytes data(value);
    if (data.bytes().size() != run.count) {
        throw py::index_error("mmap slice assignment is wrong size");
    }
    self.copy_in(run, data.bytes().data());
}

void delete_item(Mapping& self, py::handle key) {
    self.require_modifiable();
    if (PyIndex_Check(key.ptr()) != 0) {
        static_cast<void>(index_of(self, key));
        throw py::type_error("mmap doesn't support item deletion");
    }
    if (PySlice_Check(key.ptr())) {
        static_cast<void>(run_of(self, key));
        throw py::type_error("mmap object doesn't support slice deletion");
    }
    throw py::type_error("mmap indices must be integer");
}

PyObject* subscript(PyObject* self, PyObject* key) {
    try {
        return get_item(mapping_of(self), key).release().ptr();
    } catch (...) {
        set_error_from_current_exception();
        return nullptr;
    }
}

int assign_subscript(PyObject* self, PyObject* key, PyObject* value) {
    try {
        if (value == nullptr) {
            delete_item(mapping_of(self), key);
        } else {
            set_item(mapping_of(self), key, value);
        }
        return 0;
    } catch (...) {
        set_error_from_current_exception();
        return -1;
    }
}

Py_ssize_t length(PyObject* self) {
    try {
        return static_cast<Py_ssize_t>(mapping_of(self).length());
    } catch (...) {
        set_error_from_current_exception();
        return -1;
    }
}

} // namespace

void enable_mapping_slots(PyHeapTypeObject* heap_type) {
    heap_type->as_buffer.bf_getbuffer = get_buffer;
    heap_type->as_buffer.bf_releasebuffer = release_buffer;
    heap_type->ht_type.tp_as_buffer = &heap_type->as_buffer;
    heap_type->as_mapping.mp_length = length;
    heap_type->as_mapping.mp_subscript = subscript;
    heap_type->as_mapping.mp_ass_subscript = assign_subscript;
    heap_type->ht_type.tp_as_mapping = &heap_type->as_mapping;
}

} // namespace memshare::bindings
