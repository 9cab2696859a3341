// What the shared-array code asks of any NumPy array on every hand-off,
// answered without going through NumPy's Python-level helpers.
#include "bindings.hpp"

#include <pybind11/numpy.h>

#include <cstdint>
#include <tuple>

namespace memshare::bindings {
namespace {

// The address of the first element of `a`, the first byte it spans and the
// one past its last (numpy's byte_bounds), and whether it is writeable.
std::tuple<std::uintptr_t, std::uintptr_t, std::uintptr_t, bool>
array_memory(const py::array& a) {
    const auto data = reinterpret_cast<std::uintptr_t>(a.data());
    if (a.size() == 0) {
        return {data, data, data, a.writeable()};
    }
    // Negative strides reach below the first element.
    std::uintptr_t below = 0;
    std::uintptr_t above = 0;
    for (py::ssize_t axis = 0; axis < a.ndim(); ++axis) {
        const py::ssize_t reach = a.strides(axis) * (a.shape(axis) - 1);
        if (reach < 0) {
            below += static_cast<std::uintptr_t>(-reach);
        } else {
            above += static_cast<std::uintptr_t>(reach);
        }
    }
    return {data, data - below,
            data + above + static_cast<std::uintptr_t>(a.itemsize()), a.writeable()};
}

} // namespace

void register_arrays(py::module_& m) {
    m.def("array_memory", &array_memory, py::arg("a").noconvert(),
          "(data, low, high, writeable): the address of the first element of "
          "ndarray `a`, the first byte it spans and the one past its last, and "
          "whether it may be written.");
}

} // namespace memshare::bindings
