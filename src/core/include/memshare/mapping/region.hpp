// The single owner of one mmap()ed range of memory.
#pragma once

#include <memshare/mapping/fault_shield.hpp>
#include <memshare/mapping/page_states.hpp>

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace memshare {

namespace detail {
struct region_state;
}

// Owns [data(), data() + size()) from mmap() until it is destroyed or
// reset().  Tracks the protection and advice of every page, so that callers
// can check an access before they make it.  Byte ranges given to the member
// functions are offsets into the region, aligned to granule().
class Region {
public:
    Region() noexcept;
    // mmap(NULL, size, prot, flags, fd, offset).  `granule` is the size of
    // the pages the mapping is made of (a huge page size for MAP_HUGETLB);
    // `target` names the mapped file in errors.
    Region(std::size_t size, int prot, int flags, int fd, off_t offset,
           std::size_t granule, std::string target);
    ~Region();
    Region(Region&&) noexcept;
    Region& operator=(Region&&) noexcept;
    Region(const Region&) = delete;
    Region& operator=(const Region&) = delete;

    explicit operator bool() const noexcept;
    [[nodiscard]] std::byte* data() const noexcept;
    [[nodiscard]] std::size_t size() const noexcept;
    [[nodiscard]] std::size_t granule() const noexcept;
    [[nodiscard]] const page_states& pages() const noexcept;
    // The mapped file, for messages; empty for anonymous memory.
    [[nodiscard]] std::string target() const;

    // Whether every page of [begin, end) may be read / written now.
    [[nodiscard]] bool readable(std::size_t begin, std::size_t end) const;
    [[nodiscard]] bool writable(std::size_t begin, std::size_t end) const;

    void protect(std::size_t begin, std::size_t end, int prot);
    void advise(std::size_t begin, std::size_t end, int advice);
    void sync(std::size_t begin, std::size_t end, int flags) const;
    void lock(std::size_t begin, std::size_t end, bool on_fault) const;
    void unlock(std::size_t begin, std::size_t end) const;
    // One entry per base page of [begin, end): 1 if resident, else 0.
    [[nodiscard]] std::vector<std::uint8_t> residency(std::size_t begin,
                                                      std::size_t end) const;
    // Names anonymous memory in /proc/PID/maps ("[anon:name]").
    void set_name(std::size_t begin, std::size_t end, const std::string& name) const;

    // mremap(MREMAP_MAYMOVE): the data may move; pointers into it go stale.
    void remap(std::size_t new_size);

    // The SIGBUS shield's view of the region: it maps file `fd` (which the
    // caller keeps open; -1 before it closes), and what it replaced.
    void watch_file(int fd) noexcept;
    [[nodiscard]] std::optional<shield_damage> damage() const noexcept;
    // Throws damaged_error naming `call` if the shield replaced pages.
    void require_intact(const std::string& call) const;

    // munmap() now.
    void reset() noexcept;

private:
    std::unique_ptr<detail::region_state> state_;
};

} // namespace memshare
