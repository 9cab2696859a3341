// The SIGBUS shield's side in Python: a thread that waits for the shield to
// replace pages and raises MappingDamagedError in each thread whose access
// faulted, at the next moment the interpreter can (the signal handler
// itself may only write to an eventfd).
#include "bindings.hpp"

#include <memshare/base/error.hpp>
#include <memshare/mapping/fault_shield.hpp>

#include <pthread.h>
#include <pythread.h>

#include <vector>

namespace memshare::bindings {
namespace {

PyObject* damage_error = nullptr; // memshare.MappingDamagedError, kept for ever

bool finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
    return Py_IsFinalizing() != 0;
#else
    return _Py_IsFinalizing() != 0;
#endif
}

// Raises the error in each thread of `threads`, or in the main thread for
// a thread that runs no Python (a thread of a C library's pool).
void raise_in(const std::vector<unsigned long>& threads) {
    const PyGILState_STATE state = PyGILState_Ensure();
    for (const unsigned long thread : threads) {
        if (PyThreadState_SetAsyncExc(thread, damage_error) == 0) {
            PyThreadState_SetAsyncExc(main_thread_ident(), damage_error);
        }
    }
    PyGILState_Release(state);
}

// No C++ object lives across the calls that may end the thread (taking the
// GIL during finalization), so nothing needs unwinding there.
void* watch(void* /*unused*/) {
    for (;;) {
        std::vector<unsigned long> threads;
        try {
            threads = wait_for_shielded_faults();
        } catch (...) {
            return nullptr; // no doorbell: memshare's calls still report damage
        }
        if (finalizing()) {
            return nullptr;
        }
        if (damage_error != nullptr) {
            raise_in(threads);
        }
    }
}

void start_watcher() {
    pthread_t thread{};
    pthread_attr_t attributes{};
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attributes, 256 * 1024);
    const int failed = pthread_create(&thread, &attributes, watch, nullptr);
    pthread_attr_destroy(&attributes);
    if (failed != 0) {
        throw os_error(failed, "pthread_create", {},
                       "the fault shield's watcher thread could not start");
    }
}

} // namespace

void register_faults(py::module_& m) {
    m.def(
        "set_damage_error",
        [](const py::object& type) {
            Py_XDECREF(damage_error);
            damage_error = type.inc_ref().ptr();
        },
        py::arg("type"),
        "The exception class raised for memory the SIGBUS shield replaced.");
    m.def("start_fault_watcher", &start_watcher,
          "Start the thread that tells Python threads their accesses faulted: "
          "once on import, and in each child after fork.");
    m.def("take_damage_report", &take_damage_report,
          "What the SIGBUS shield replaced since the last report, one sentence "
          "per mapping.");
}

PyObject* damage_error_type() noexcept {
    return damage_error;
}

} // namespace memshare::bindings
