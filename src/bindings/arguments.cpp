// What the argument types of bindings.hpp need at run time.
#include "bindings.hpp"

namespace memshare::bindings {

py::handle not_given() noexcept {
    // One object for the process, never freed (so never released after the
    // interpreter has gone); created when the module is, under the GIL.
    static PyObject* const marker =
        PyObject_CallNoArgs(reinterpret_cast<PyObject*>(&PyBaseObject_Type));
    return marker;
}

} // namespace memshare::bindings
