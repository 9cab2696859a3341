// The PROT_, MAP_, MS_, MADV_ and ACCESS_ constants, PAGESIZE and
// ALLOCATIONGRANULARITY, as the mmap module names them.
#include "bindings.hpp"

#include <memshare/base/flags.hpp>
#include <memshare/base/page.hpp>
#include <memshare/mapping/mapping.hpp>

#include <pybind11/stl.h>

namespace memshare::bindings {

void register_constants(py::module_& m) {
    for (const auto table : {prot_constants(), map_constants(), msync_constants(),
                             madvise_constants(), memfd_constants()}) {
        for (const auto& [name, value] : table) {
            m.attr(name) = value;
        }
    }
    m.attr("ACCESS_DEFAULT") = static_cast<int>(access_mode::default_access);
    m.attr("ACCESS_READ") = static_cast<int>(access_mode::read);
    m.attr("ACCESS_WRITE") = static_cast<int>(access_mode::write);
    m.attr("ACCESS_COPY") = static_cast<int>(access_mode::copy);
    m.attr("PAGESIZE") = page_size();
    m.attr("ALLOCATIONGRANULARITY") = page_size();
    m.def("huge_page_sizes", &huge_page_sizes,
          "The huge page sizes the kernel offers, in bytes, ascending.");
    m.def("default_huge_page_size", &default_huge_page_size,
          "The default huge page size in bytes, or 0.");
    m.def("free_huge_pages", &free_huge_pages, py::arg("size"),
          "Huge pages of `size` bytes that a new mapping can still get (free and "
          "not reserved by another mapping), or 0 when the size is not offered.");
    m.def("format_bytes", &format_bytes, py::arg("size"),
          "A size as people read it: '4 KiB', '1.5 GiB'.");
}

} // namespace memshare::bindings
