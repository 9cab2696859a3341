// Included first by every binding file: pybind11, the argument types that
// convert like the CPython argument parser, and the register_<area>()
// functions that module.cpp wires together.
#pragma once

#include <memshare/mapping/mapping.hpp>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <type_traits>

namespace py = pybind11;

namespace memshare::bindings {

// An integer argument converted as PyArg_Parse's "n" format converts it:
// anything with __index__, OverflowError past the range of Py_ssize_t.  The
// mmap module parses its arguments so, and memshare raises what it raises.
struct index_arg {
    Py_ssize_t value;
};

// The same for the "i" format: a C int.
struct int_arg {
    int value;
};

// An index argument that may be left out, as PyArg_Parse's "|n" takes it:
// None is refused as any other non-integer is (mmap.find(b"x", None) raises
// TypeError).  Left out, it holds nothing.  Give such an argument the
// default not_given(): py::arg_v("start", not_given(), "...").
struct optional_index {
    std::optional<std::int64_t> value;
};
[[nodiscard]] py::handle not_given() noexcept;

// The Mapping a method is called on, refused (ValueError) if it is closed
// before the method's other arguments are converted: mmap.mmap checks that
// first, so a closed mapping raises ValueError whatever the arguments.
struct open_mapping {
    Mapping* mapping = nullptr;
    Mapping* operator->() const noexcept { return mapping; }
    Mapping& operator*() const noexcept { return *mapping; }
};

// An optional index_arg as the core takes it.
inline std::optional<std::int64_t> value_of(const std::optional<index_arg>& arg) {
    return arg ? std::optional<std::int64_t>(arg->value) : std::nullopt;
}

// A contiguous buffer borrowed from a Python object for the duration of a
// call, as the "y*" format borrows it: TypeError for str, BufferError for a
// non-contiguous buffer.
class borrowed_bytes {
public:
    explicit borrowed_bytes(py::handle object) {
        if (PyObject_GetBuffer(object.ptr(), &view_, PyBUF_SIMPLE) != 0) {
            throw py::error_already_set();
        }
    }
    ~borrowed_bytes() { PyBuffer_Release(&view_); }
    borrowed_bytes(const borrowed_bytes&) = delete;
    borrowed_bytes& operator=(const borrowed_bytes&) = delete;

    [[nodiscard]] std::span<const std::byte> bytes() const noexcept {
        return {static_cast<const std::byte*>(view_.buf),
                static_cast<std::size_t>(view_.len)};
    }

private:
    Py_buffer view_{};
};

// A bytes-like argument, borrowed for the call as by a borrowed_bytes.
struct bytes_arg {
    std::span<const std::byte> bytes;
};

// Calls `call(work)` without the GIL, as Py_BEGIN_ALLOW_THREADS and
// Py_END_ALLOW_THREADS do.  Not with pybind11's gil_scoped_release: a
// daemon thread that takes the GIL back while the interpreter finalizes is
// ended by CPython with pthread_exit(), whose unwinding aborts the process
// if it starts in a destructor.  Started from plain code, it unwinds to the
// thread's start, as for CPython's own waits.
void call_without_gil(void (*call)(void*), void* work);

// Gives `call(work)`; a C++ exception it throws becomes the Python error
// (and nullptr), as pybind11 would set it, but the unwinding of a thread
// that CPython ends (see call_without_gil) goes on.
PyObject* call_setting_error(PyObject* (*call)(void*), void* work);

// call_setting_error() for a callable.
template <class Work>
PyObject* setting_error(Work&& work) {
    return call_setting_error(
        [](void* w) -> PyObject* {
            return (*static_cast<std::remove_reference_t<Work>*>(w))();
        },
        &work);
}

// Runs `work()` without the GIL (see call_without_gil) and gives what it
// returns.
template <class Work>
auto without_gil(Work&& work) {
    using result = decltype(work());
    static_assert(!std::is_reference_v<result>, "the work returns a value");
    using work_type = std::remove_reference_t<Work>;
    if constexpr (std::is_void_v<result>) {
        call_without_gil([](void* w) { (*static_cast<work_type*>(w))(); }, &work);
    } else {
        struct call {
            work_type& work;
            std::optional<result> got;
        } state{work, std::nullopt};
        call_without_gil(
            [](void* c) {
                auto& s = *static_cast<call*>(c);
                s.got.emplace(s.work());
            },
            &state);
        return std::move(*state.got);
    }
}

// Whether the calling thread runs Python's signal handlers: only there
// can Ctrl-C end a wait.  Call with the GIL.
[[nodiscard]] bool runs_signal_handlers();
// threading.main_thread().ident.
[[nodiscard]] unsigned long main_thread_ident() noexcept;
// memshare.MappingDamagedError once Python has set it, else nullptr.
[[nodiscard]] PyObject* damage_error_type() noexcept;

// Runs `wait(interrupted)` without the GIL.  In the main thread,
// `interrupted()`, which the wait calls between slices, takes the GIL back
// to run signal handlers; a handler's exception (Ctrl-C's
// KeyboardInterrupt) ends the wait and is raised once it has.  Other
// threads run no handlers, so their waits never take the GIL before the
// end (a daemon thread may then sleep on while the interpreter exits).
template <class Wait>
auto wait_interruptibly(Wait&& wait) {
    const bool handles_signals = runs_signal_handlers();
    bool stopped = false;
    auto got = without_gil([&] {
        return wait([handles_signals, &stopped] {
            if (!handles_signals) {
                return false;
            }
            const PyGILState_STATE held = PyGILState_Ensure();
            stopped = PyErr_CheckSignals() != 0;
            PyGILState_Release(held);
            return stopped;
        });
    });
    if (stopped) {
        throw py::error_already_set();
    }
    return got;
}

void register_errors(py::module_& m);
void register_faults(py::module_& m);
void register_threads(py::module_& m);
void register_constants(py::module_& m);
void register_mapping(py::module_& m);
void register_shm(py::module_& m);
void register_arrays(py::module_& m);
void register_lock(py::module_& m);
void register_primitives(py::module_& m);
void register_queue(py::module_& m);
void register_posix_ipc(py::module_& m);
// The file-like and sequence methods of mmap.mmap, for register_mapping().
void bind_mapping_io(py::class_<Mapping>& cls);

// Sets the Python error for the C++ exception being handled.  For C slots,
// which must not let an exception escape.
void set_error_from_current_exception() noexcept;

// A new bytes object holding a copy of `run`, bytes of `self`.
py::bytes bytes_from(Mapping& self, const Mapping::byte_run& run);

// Gives the Mapping type its C slots: the buffer protocol, which counts
// exports and releases (pybind11's buffer support cannot), and subscripts
// and len(), which must be as cheap as mmap's.
void enable_mapping_slots(PyHeapTypeObject* heap_type);

} // namespace memshare::bindings

namespace pybind11::detail {

template <>
struct type_caster<memshare::bindings::index_arg> {
    PYBIND11_TYPE_CASTER(memshare::bindings::index_arg, const_name("int"));

    bool load(handle source, bool /*convert*/) {
        const Py_ssize_t result = PyNumber_AsSsize_t(source.ptr(), PyExc_OverflowError);
        if (result == -1 && PyErr_Occurred() != nullptr) {
            throw error_already_set();
        }
        value.value = result;
        return true;
    }
};

template <>
struct type_caster<memshare::bindings::optional_index> {
    PYBIND11_TYPE_CASTER(memshare::bindings::optional_index, const_name("int"));

    bool load(handle source, bool convert) {
        if (source.is(memshare::bindings::not_given())) {
            value.value.reset();
            return true;
        }
        type_caster<memshare::bindings::index_arg> index;
        index.load(source, convert); // raises TypeError for None, as "n" does
        value.value = static_cast<memshare::bindings::index_arg>(index).value;
        return true;
    }
};

template <>
struct type_caster<memshare::bindings::open_mapping> {
    PYBIND11_TYPE_CASTER(memshare::bindings::open_mapping, const_name("Mapping"));

    bool load(handle source, bool convert) {
        type_caster_base<memshare::Mapping> base;
        if (!base.load(source, convert)) {
            return false;
        }
        auto& mapping = static_cast<memshare::Mapping&>(base);
        mapping.require_open(); // before the other arguments are converted
        value.mapping = &mapping;
        return true;
    }
};

template <>
struct type_caster<memshare::bindings::int_arg> {
    PYBIND11_TYPE_CASTER(memshare::bindings::int_arg, const_name("int"));

    bool load(handle source, bool /*convert*/) {
        const long result = PyLong_AsLong(source.ptr());
        if (result == -1 && PyErr_Occurred() != nullptr) {
            throw error_already_set();
        }
        if (result > std::numeric_limits<int>::max() ||
            result < std::numeric_limits<int>::min()) {
            PyErr_SetString(PyExc_OverflowError,
                            result > 0 ? "signed integer is greater than maximum"
                                       : "signed integer is less than minimum");
            throw error_already_set();
        }
        value.value = static_cast<int>(result);
        return true;
    }
};

template <>
struct type_caster<memshare::bindings::bytes_arg> {
    PYBIND11_TYPE_CASTER(memshare::bindings::bytes_arg,
                         const_name("typing_extensions.Buffer"));

    bool load(handle source, bool /*convert*/) {
        borrowed_.emplace(source);
        value.bytes = borrowed_->bytes();
        return true;
    }

private:
    std::optional<memshare::bindings::borrowed_bytes> borrowed_;
};

} // namespace pybind11::detail
