// Locks in shared memory: _core.SyncLock, the base of memshare.Lock and
// memshare.RLock.  A plain CPython type rather than a pybind11 class: an
// uncontended acquire() and release() must cost about what
// multiprocessing.Lock's do, and pybind11's call dispatch alone costs more.
#include "bindings.hpp"

#include <memshare/sync/shared_lock.hpp>

#include <structmember.h>

#include <chrono>
#include <cmath>
#include <optional>
#include <span>

namespace memshare::bindings {
namespace {

PyObject* owner_died_error = nullptr; // memshare.OwnerDiedError

struct lock_object {
    PyObject_HEAD PyObject* cell; // the shared memory the lock lives in, kept alive
    std::optional<shared_lock> lock;
    sync_kind kind;
    PyObject* weakrefs;
};

lock_object* as_lock(PyObject* self) {
    return reinterpret_cast<lock_object*>(self);
}

int lock_init(PyObject* self, PyObject* args, PyObject* kwargs) {
    static const char* keywords[] = {"cell", "kind", "make", nullptr};
    PyObject* cell = nullptr;
    int kind = 0;
    int make = 0;
    if (PyArg_ParseTupleAndKeywords(args, kwargs, "Oip:SyncLock",
                                    const_cast<char**>(keywords), &cell, &kind,
                                    &make) == 0) {
        return -1;
    }
    if (kind != static_cast<int>(sync_kind::lock) &&
        kind != static_cast<int>(sync_kind::rlock)) {
        PyErr_SetString(PyExc_ValueError, "kind is lock_kind or rlock_kind");
        return -1;
    }
    Py_buffer view{};
    if (PyObject_GetBuffer(cell, &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) != 0) {
        return -1;
    }
    try {
        const auto sort = static_cast<sync_kind>(kind);
        std::byte* place = cell_in(
            {static_cast<std::byte*>(view.buf), static_cast<std::size_t>(view.len)},
            shared_lock::cell_size, sort);
        lock_object* lock = as_lock(self);
        lock->lock = make != 0 ? shared_lock::make(place, sort)
                               : shared_lock::attach(place, sort);
        lock->kind = sort;
    } catch (...) {
        PyBuffer_Release(&view);
        set_error_from_current_exception();
        return -1;
    }
    // The array keeps its memory mapped; the buffer export is not needed.
    PyBuffer_Release(&view);
    Py_INCREF(cell);
    Py_XSETREF(as_lock(self)->cell, cell);
    return 0;
}

void lock_dealloc(PyObject* self) {
    PyTypeObject* type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    lock_object* lock = as_lock(self);
    if (lock->weakrefs != nullptr) {
        PyObject_ClearWeakRefs(self);
    }
    lock->lock.~optional();
    Py_CLEAR(lock->cell);
    type->tp_free(self);
    Py_DECREF(type);
}

int lock_traverse(PyObject* self, visitproc visit, void* arg) {
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(as_lock(self)->cell);
    return 0;
}

PyObject* lock_new(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
    PyObject* self = PyType_GenericNew(type, args, kwargs);
    if (self != nullptr) {
        new (&as_lock(self)->lock) std::optional<shared_lock>();
    }
    return self;
}

shared_lock* lock_of(PyObject* self) {
    lock_object* lock = as_lock(self);
    if (!lock->lock) {
        PyErr_SetString(PyExc_RuntimeError, "the lock was not initialized");
        return nullptr;
    }
    return &*lock->lock;
}

// threading's checks of acquire()'s arguments, and the deadline they give.
bool parse_timeout(PyObject* timeout, bool blocking,
                   std::optional<steady_time>& deadline) {
    const double seconds = PyFloat_AsDouble(timeout);
    if (seconds == -1.0 && PyErr_Occurred() != nullptr) {
        return false;
    }
    if (!blocking && seconds != -1.0) {
        PyErr_SetString(PyExc_ValueError,
                        "can't specify a timeout for a non-blocking call");
        return false;
    }
    if (seconds < 0 && seconds != -1.0) {
        PyErr_SetString(PyExc_ValueError, "timeout value must be positive");
        return false;
    }
    if (std::isnan(seconds) || seconds > 9223372036.0) { // threading.TIMEOUT_MAX
        PyErr_SetString(PyExc_OverflowError, "timeout value is too large");
        return false;
    }
    if (seconds >= 0) {
        deadline = deadline_after(seconds);
    }
    return true;
}

PyObject* report(lock_outcome got) {
    switch (got) {
    case lock_outcome::acquired:
        Py_RETURN_TRUE;
    case lock_outcome::owner_died:
        PyErr_SetString(owner_died_error,
                        "the process that held this lock ended without releasing "
                        "it; the lock is now held here: check what it guards, then "
                        "release it");
        return nullptr;
    case lock_outcome::busy:
    case lock_outcome::timed_out:
        Py_RETURN_FALSE;
    case lock_outcome::interrupted:
        return nullptr; // raised by wait_interruptibly() before this
    }
    return nullptr;
}

// acquire(blocking=True, timeout=-1), parsed by hand: the call with no
// arguments is the one to make fast.
bool parse_acquire(PyObject* const* args, Py_ssize_t count, PyObject* names,
                   int& blocking, PyObject*& timeout) {
    const Py_ssize_t named = names == nullptr ? 0 : PyTuple_GET_SIZE(names);
    if (count + named > 2) {
        PyErr_Format(PyExc_TypeError, "acquire() takes at most 2 arguments (%zd given)",
                     count + named);
        return false;
    }
    PyObject* blocking_arg = count > 0 ? args[0] : nullptr;
    timeout = count > 1 ? args[1] : nullptr;
    for (Py_ssize_t i = 0; i < named; ++i) {
        PyObject* name = PyTuple_GET_ITEM(names, i);
        PyObject** slot = nullptr;
        if (PyUnicode_CompareWithASCIIString(name, "blocking") == 0) {
            slot = &blocking_arg;
        } else if (PyUnicode_CompareWithASCIIString(name, "timeout") == 0) {
            slot = &timeout;
        } else {
            PyErr_Format(PyExc_TypeError,
                         "acquire() got an unexpected keyword argument '%U'", name);
            return false;
        }
        if (*slot != nullptr) {
            PyErr_Format(PyExc_TypeError,
                         "acquire() got multiple values for argument '%U'", name);
            return false;
        }
        *slot = args[count + i];
    }
    if (blocking_arg != nullptr) {
        blocking = PyObject_IsTrue(blocking_arg);
        if (blocking < 0) {
            return false;
        }
    }
    return true;
}

PyObject* lock_acquire(PyObject* self, PyObject* const* args, Py_ssize_t count,
                       PyObject* names) {
    shared_lock* lock = lock_of(self);
    if (lock == nullptr) {
        return nullptr;
    }
    int blocking = 1;
    PyObject* timeout = nullptr;
    if ((count > 0 || names != nullptr) &&
        !parse_acquire(args, count, names, blocking, timeout)) {
        return nullptr;
    }
    std::optional<steady_time> deadline;
    if (timeout != nullptr && !parse_timeout(timeout, blocking != 0, deadline)) {
        return nullptr;
    }
    if (lock->try_lock() == lock_outcome::acquired) { // with the GIL: no wait
        Py_RETURN_TRUE;
    }
    if (blocking == 0) {
        return report(lock->take_over());
    }
    // Ctrl-C raises from here (error_already_set, set again as the error).
    return setting_error([&] {
        return report(wait_interruptibly(
            [&](auto interrupted) { return lock->lock(deadline, interrupted); }));
    });
}

PyObject* lock_enter(PyObject* self, PyObject* /*unused*/) {
    return lock_acquire(self, nullptr, 0, nullptr);
}

PyObject* lock_release(PyObject* self, PyObject* /*unused*/) {
    shared_lock* lock = lock_of(self);
    if (lock == nullptr) {
        return nullptr;
    }
    if (!lock->unlock()) {
        // threading's messages.
        PyErr_SetString(PyExc_RuntimeError, as_lock(self)->kind == sync_kind::rlock
                                                ? "cannot release un-acquired lock"
                                                : "release unlocked lock");
        return nullptr;
    }
    Py_RETURN_NONE;
}

PyObject* lock_exit(PyObject* self, PyObject* const* /*args*/, Py_ssize_t /*count*/) {
    return lock_release(self, nullptr);
}

PyObject* lock_locked(PyObject* self, PyObject* /*unused*/) {
    shared_lock* lock = lock_of(self);
    if (lock == nullptr) {
        return nullptr;
    }
    return PyBool_FromLong(lock->locked() ? 1 : 0);
}

PyObject* lock_depth(PyObject* self, PyObject* /*unused*/) {
    shared_lock* lock = lock_of(self);
    if (lock == nullptr) {
        return nullptr;
    }
    return PyLong_FromUnsignedLong(lock->depth());
}

// Each docstring starts with the signature (the "--" line ends it), so that
// every Python from 3.10 on shows the same one.
PyMethodDef lock_methods[] = {
    {"acquire",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(lock_acquire)),
     METH_FASTCALL | METH_KEYWORDS,
     "acquire($self, /, blocking=True, timeout=-1)\n--\n\n"
     "True once held, False if not in time."},
    {"release", lock_release, METH_NOARGS,
     "release($self, /)\n--\n\nRelease the lock."},
    {"locked", lock_locked, METH_NOARGS,
     "locked($self, /)\n--\n\nWhether some thread holds the lock."},
    {"_depth", lock_depth, METH_NOARGS,
     "_depth($self, /)\n--\n\nHow many times this thread holds the RLock (0: it "
     "does not); a Lock: 1 if held."},
    {"__enter__", lock_enter, METH_NOARGS, "__enter__($self, /)\n--\n\nacquire()"},
    {"__exit__", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(lock_exit)),
     METH_FASTCALL,
     "__exit__($self, exc_type, exc_value, traceback, /)\n--\n\nrelease()"},
    {nullptr, nullptr, 0, nullptr},
};

PyMemberDef lock_members[] = {
    {"cell", T_OBJECT_EX, offsetof(lock_object, cell), READONLY,
     "The shared memory the lock lives in (a uint8 array)."},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(lock_object, weakrefs), READONLY,
     nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

PyType_Slot lock_slots[] = {
    {Py_tp_new, reinterpret_cast<void*>(lock_new)},
    {Py_tp_init, reinterpret_cast<void*>(lock_init)},
    {Py_tp_dealloc, reinterpret_cast<void*>(lock_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(lock_traverse)},
    {Py_tp_methods, lock_methods},
    {Py_tp_members, lock_members},
    {Py_tp_doc, const_cast<char*>("SyncLock(cell, kind, make)\n--\n\n"
                                  "A lock in the shared memory `cell`, made there "
                                  "or attached to.")},
    {0, nullptr},
};

PyType_Spec lock_spec = {
    "memshare._core.SyncLock",
    sizeof(lock_object),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    lock_slots,
};

} // namespace

void register_lock(py::module_& m) {
    auto type = py::reinterpret_steal<py::object>(PyType_FromSpec(&lock_spec));
    if (!type) {
        throw py::error_already_set();
    }
    m.add_object("SyncLock", type);
    owner_died_error = PyErr_NewExceptionWithDoc(
        "memshare._core.OwnerDiedError",
        "A lock was acquired whose holding process had ended without releasing "
        "it.\n\n"
        "The lock is held by the caller when this is raised, and stays usable: "
        "check (and repair) what it guards, then release it.",
        PyExc_RuntimeError, nullptr);
    if (owner_died_error == nullptr) {
        throw py::error_already_set();
    }
    m.add_object("OwnerDiedError",
                 py::reinterpret_borrow<py::object>(owner_died_error));
    m.attr("lock_kind") = static_cast<int>(sync_kind::lock);
    m.attr("rlock_kind") = static_cast<int>(sync_kind::rlock);
    m.attr("LOCK_SIZE") = shared_lock::cell_size;
}

} // namespace memshare::bindings
