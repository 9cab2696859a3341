#include <memshare/array_memory.hpp>
#include <memshare/blocking.hpp>
#include <memshare/page.hpp>
#include <memshare/parked_segments.hpp>
#include <memshare/shm.hpp>

#include <sys/mman.h>

#include <cstring>
#include <fstream>
#include <string>
#include <utility>

namespace memshare {
namespace {

// Zeroing memory already in place runs at memory speed; a few MiB or more
// is worth letting other threads run meanwhile.
constexpr std::size_t zero_without_gil = std::size_t{1} << 22;
constexpr std::size_t huge_page = std::size_t{2}
                                  << 20; // the PMD size on x86-64 and arm64

void zero(std::byte* data, std::size_t bytes) {
    if (bytes >= zero_without_gil) {
        run_blocking([&] { std::memset(data, 0, bytes); });
    } else {
        std::memset(data, 0, bytes);
    }
}

// Whether shared memory gets transparent huge pages when asked for them
// (shmem_enabled "advise"; with "always" or "within_size" it gets them
// anyway, with "never" not at all).
bool huge_pages_on_advice() {
    static const bool advised = [] {
        std::ifstream setting("/sys/kernel/mm/transparent_hugepage/shmem_enabled");
        std::string text;
        std::getline(setting, text);
        return text.find("[advise]") != std::string::npos;
    }();
    return advised;
}

Mapping fresh_array_memory(std::size_t length) {
    unique_fd fd = create_anonymous_memory(static_cast<std::int64_t>(length));
    const file_identity identity = identity_of(fd.get());
    Mapping mapping =
        Mapping::from_shared_memory(std::move(fd), length, false, "memfd:memshare");
    // Fresh memory reads as zeros: the lease count starts at zero, and this
    // process takes the first lease.
    lease_of(mapping).store(1, std::memory_order_release);
    if (length >= huge_page && huge_pages_on_advice()) {
        // Fewer page faults and TLB misses; only a hint, so failure is fine.
        static_cast<void>(::madvise(mapping.data(), length, MADV_HUGEPAGE));
    }
    mapping.lease_until_dropped(identity, true);
    return mapping;
}

} // namespace

std::size_t array_memory_length(std::size_t bytes) noexcept {
    const std::size_t page = page_size();
    return round_up(std::max<std::size_t>(bytes, 1), page) + page;
}

Mapping new_array_memory(std::size_t bytes, bool zero_it) {
    const std::size_t length = array_memory_length(bytes);
    std::optional<recycled_segment> reused = reuse_segment(length);
    if (!reused) {
        return fresh_array_memory(length);
    }
    Mapping& mapping = reused->mapping;
    mapping.lease_until_dropped(reused->identity, true);
    if (zero_it) {
        zero(mapping.data(), bytes);
    }
    return std::move(mapping);
}

std::atomic<std::uint64_t>& lease_of(const Mapping& mapping) {
    // The last page of the segment; the mapping always covers all of it.
    std::byte* const page = mapping.data() + mapping.length() - page_size();
    return *std::launder(reinterpret_cast<std::atomic<std::uint64_t>*>(page));
}

void count_handle(const Mapping& mapping) {
    lease_of(mapping).fetch_add(1, std::memory_order_relaxed);
}

void release_lease(const Mapping& mapping) noexcept {
    // Release: whoever reuses the memory sees this process's writes done.
    lease_of(mapping).fetch_sub(1, std::memory_order_release);
}

} // namespace memshare
