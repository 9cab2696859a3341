#include <memshare/arrays/array_memory.hpp>
#include <memshare/arrays/parked_segments.hpp>
#include <memshare/base/blocking.hpp>
#include <memshare/base/page.hpp>
#include <memshare/shm/shm.hpp>

#include <fcntl.h>
#include <sys/mman.h>

#include <cstring>
#include <exception>
#include <fstream>
#include <optional>
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

// `fd`, a new memfd of `length` bytes, mapped with its lease taken by this
// process (new memory reads as zeros: the count starts at zero).
Mapping leased(unique_fd fd, std::size_t length, const std::string& target) {
    const file_identity identity = identity_of(fd.get());
    Mapping mapping = Mapping::from_shared_memory(std::move(fd), length, false, target);
    lease_of(mapping).store(1, std::memory_order_release);
    mapping.lease_until_dropped(identity, true);
    return mapping;
}

Mapping fresh_array_memory(std::size_t length) {
    Mapping mapping = leased(create_anonymous_memory(static_cast<std::int64_t>(length)),
                             length, "memfd:memshare");
    if (length >= huge_page && huge_pages_on_advice()) {
        // Fewer page faults and TLB misses; only a hint, so failure is fine.
        static_cast<void>(::madvise(mapping.data(), length, MADV_HUGEPAGE));
    }
    return mapping;
}

std::size_t pool_page_size() {
    static const std::size_t size = default_huge_page_size();
    return size;
}

// The length of memory from the huge page pool for `bytes` of data and the
// lease page, or 0 if rounding up to whole huge pages would waste more than
// an eighth of it (a 4 MiB array would take 6 MiB).
std::size_t huge_page_length(std::size_t bytes) {
    const std::size_t huge = pool_page_size();
    if (huge == 0) {
        return 0;
    }
    const std::size_t length = round_up(bytes + page_size(), huge);
    return length - bytes <= bytes / 8 ? length : 0;
}

// Memory of `length` bytes from the huge page pool the administrator
// reserved (/proc/sys/vm/nr_hugepages), if enough of it is free.
std::optional<Mapping> huge_page_memory(std::size_t length) {
    if (free_huge_pages(pool_page_size()) < length / pool_page_size()) {
        return std::nullopt;
    }
    try {
        unique_fd fd =
            memfd_create("memshare", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB);
        if (::ftruncate(fd.get(), static_cast<off_t>(length)) != 0) {
            return std::nullopt;
        }
        add_seals(fd.get(), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
        // mmap() reserves the pages, so that no later touch finds none.
        return leased(std::move(fd), length, "memfd:memshare (huge pages)");
    } catch (const std::exception&) {
        return std::nullopt; // another process took them first: ordinary pages
    }
}

std::optional<Mapping> recycled_memory(std::size_t length, std::size_t bytes,
                                       bool zero_it) {
    std::optional<recycled_segment> reused = reuse_segment(length);
    if (!reused) {
        return std::nullopt;
    }
    reused->mapping.lease_until_dropped(reused->identity, true);
    if (zero_it) {
        zero(reused->mapping.data(), bytes);
    }
    return std::move(reused->mapping);
}

} // namespace

std::size_t array_memory_length(std::size_t bytes) noexcept {
    const std::size_t page = page_size();
    return round_up(std::max<std::size_t>(bytes, 1), page) + page;
}

Mapping new_array_memory(std::size_t bytes, bool zero_it) {
    if (const std::size_t huge = huge_page_length(bytes)) {
        if (std::optional<Mapping> mapping = recycled_memory(huge, bytes, zero_it)) {
            return *std::move(mapping);
        }
        if (std::optional<Mapping> mapping = huge_page_memory(huge)) {
            return *std::move(mapping);
        }
    }
    const std::size_t length = array_memory_length(bytes);
    if (std::optional<Mapping> mapping = recycled_memory(length, bytes, zero_it)) {
        return *std::move(mapping);
    }
    return fresh_array_memory(length);
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
