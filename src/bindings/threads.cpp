// Which thread may be interrupted: Python runs signal handlers only in the
// main thread.
#include "bindings.hpp"

#include <pythread.h>

namespace memshare::bindings {
namespace {

unsigned long main_thread = 0; // its ident, as threading.main_thread() tells

} // namespace

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
