// The _core extension module: it only wires the register_<area>() functions.
#include "bindings.hpp"

#include <memshare/base/blocking.hpp>

PYBIND11_MODULE(_core, m) {
    m.doc() = "memshare's C++ core: memory mappings, shared memory and the Linux calls "
              "on them.";

    namespace bindings = memshare::bindings;
    bindings::register_errors(m);
    bindings::register_threads(m);
    bindings::register_faults(m);
    bindings::register_constants(m);
    bindings::register_mapping(m);
    bindings::register_shm(m);
    bindings::register_arrays(m);
    bindings::register_lock(m);
    bindings::register_primitives(m);
    bindings::register_queue(m);
    bindings::register_posix_ipc(m);

    // Let other Python threads run while the core blocks.
    memshare::set_blocking_runner([](void (*call)(void*), void* context) {
        if (PyGILState_Check() == 0) {
            call(context);
            return;
        }
        bindings::without_gil([=] { call(context); });
    });
}
