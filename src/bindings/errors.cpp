// One translation from the core's exceptions to Python's: each failing
// syscall becomes the OSError subclass its errno implies, with the call and
// the file in the message.
#include "bindings.hpp"

#include <memshare/base/error.hpp>

#include <new>
#include <stdexcept>
#include <string>

namespace memshare::bindings {
namespace {

void raise_os_error(const os_error& error, PyObject* type = PyExc_OSError) {
    std::string message = error.call() + ": " + error.code().message();
    if (!error.hint().empty()) {
        message += " (" + error.hint() + ")";
    }
    py::object filename = py::none();
    if (!error.target().empty()) {
        PyObject* decoded = PyUnicode_DecodeFSDefaultAndSize(
            error.target().data(), static_cast<Py_ssize_t>(error.target().size()));
        if (decoded != nullptr) {
            filename = py::reinterpret_steal<py::object>(decoded);
        } else {
            PyErr_Clear();
        }
    }
    // OSError(errno, message, filename) picks the subclass errno implies,
    // such as FileNotFoundError or PermissionError.
    PyObject* exception = PyObject_CallFunction(type, "isO", error.code().value(),
                                                message.c_str(), filename.ptr());
    if (exception != nullptr) {
        PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exception)), exception);
        Py_DECREF(exception);
    }
}

// Sets the Python error for one of memshare's own exceptions; false for any
// other exception.
bool raise_memshare_error(const std::exception_ptr& exception) {
    try {
        std::rethrow_exception(exception);
    } catch (const damaged_error& error) {
        PyObject* type = damage_error_type();
        raise_os_error(error, type != nullptr ? type : PyExc_OSError);
    } catch (const os_error& error) {
        raise_os_error(error);
    } catch (const closed_error& error) {
        PyErr_SetString(PyExc_ValueError, error.what());
    } catch (const access_error& error) {
        PyErr_SetString(PyExc_TypeError, error.what());
    } catch (const buffer_error& error) {
        PyErr_SetString(PyExc_BufferError, error.what());
    } catch (...) {
        return false;
    }
    return true;
}

} // namespace

void register_errors(py::module_& /*m*/) {
    py::register_exception_translator([](std::exception_ptr exception) {
        if (exception && !raise_memshare_error(exception)) {
            std::rethrow_exception(exception);
        }
    });
}

void set_error_from_current_exception() noexcept {
    const std::exception_ptr exception = std::current_exception();
    if (raise_memshare_error(exception)) {
        return;
    }
    try {
        std::rethrow_exception(exception);
    } catch (py::error_already_set& error) {
        error.restore();
    } catch (const py::builtin_exception& error) {
        error.set_error();
    } catch (const std::bad_alloc&) {
        PyErr_NoMemory();
    } catch (const std::out_of_range& error) {
        PyErr_SetString(PyExc_IndexError, error.what());
    } catch (const std::overflow_error& error) {
        PyErr_SetString(PyExc_OverflowError, error.what());
    } catch (const std::invalid_argument& error) {
        PyErr_SetString(PyExc_ValueError, error.what());
    } catch (const std::exception& error) {
        PyErr_SetString(PyExc_RuntimeError, error.what());
    } catch (...) {
        PyErr_SetString(PyExc_RuntimeError, "unknown C++ exception");
    }
}

} // namespace memshare::bindings
