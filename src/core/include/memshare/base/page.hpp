// Page sizes and page arithmetic.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace memshare {

// The base page size (sysconf(_SC_PAGESIZE)).
[[nodiscard]] std::size_t page_size() noexcept;

// `alignment` must be a power of two.
[[nodiscard]] constexpr std::size_t round_down(std::size_t value,
                                               std::size_t alignment) noexcept {
    return value & ~(alignment - 1);
}
[[nodiscard]] constexpr std::size_t round_up(std::size_t value,
                                             std::size_t alignment) noexcept {
    return round_down(value + alignment - 1, alignment);
}

// The huge page sizes the kernel offers (/sys/kernel/mm/hugepages), ascending.
[[nodiscard]] std::vector<std::size_t> huge_page_sizes();

// The default huge page size (Hugepagesize in /proc/meminfo), or 0.
[[nodiscard]] std::size_t default_huge_page_size();

// Huge pages of `size` bytes that a new mapping can still get (free and not
// reserved by another mapping), or 0 when the size is not offered.
[[nodiscard]] std::size_t free_huge_pages(std::size_t size);

// "4 KiB", "2 MiB", "1.5 GiB": sizes as people read them in messages.
[[nodiscard]] std::string format_bytes(std::size_t bytes);

} // namespace memshare
