// Which thread may be interrupted (Python runs signal handlers only in the
// main thread), and how threads leave Python and come back.
#include "bindings.hpp"

#include <pythread.h>

#if defined(__GLIBCXX__)
#include <cxxabi.h>
#endif

namespace memshare::bindings {
namespace {

unsigned long main_thread = 0; // its ident, as threading.main_thread() tells

#if defined(__GLIBCXX__)
// What glibc's pthread_exit() unwinds the thread's stack with: it may pass
// through C++ frames and their destructors, but every catch (...) must let
// it on (catch it first, and rethrow).
using thread_exit = abi::__forced_unwind;
#else
struct thread_exit {}; // never thrown: pthread_exit() does not unwind here
#endif

} // namespace

// The forced unwind has no exception object for `catch (thread_exit&)` to
// bind, which UBSan takes for a null reference, so these two are not
// checked (GCC 12 cannot leave out that check alone); the work they call
// through a pointer is.
__attribute__((no_sanitize("undefined"))) void call_without_gil(void (*call)(void*),
                                                                void* work) {
    PyThreadState* const state = PyEval_SaveThread();
    try {
        call(work);
        PyEval_RestoreThread(state);
    } catch (thread_exit&) {
        throw; // the thread ends, without the GIL
    } catch (...) {
        PyEval_RestoreThread(state);
        throw;
    }
}

__attribute__((no_sanitize("undefined"))) PyObject*
call_setting_error(PyObject* (*call)(void*), void* work) {
    try {
        return call(work);
    } catch (thread_exit&) {
        throw;
    } catch (...) {
        set_error_from_current_exception();
        return nullptr;
    }
}

void register_threads(py::module_& /*m*/) {
    main_thread = py::module_::import("threading")
                      .attr("main_thread")()
                      .attr("ident")
                      .cast<unsigned long>();
}

unsigned long main_thread_ident() noexcept {
    return main_thread;
}

bool runs_signal_handlers() {
    return PyThread_get_thread_ident() == main_thread;
}

} // namespace memshare::bindings
