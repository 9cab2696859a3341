// The SIGBUS shield: no access to memory memshare mapped ends the process.
//
// Touching a page of a file mapping past the end of its file (the file was
// truncated after it was mapped, perhaps by another process) or a page its
// filesystem cannot supply (a full tmpfs) raises SIGBUS, which kills the
// process, whoever made the access: memshare, NumPy, a memoryview.  Every
// range memshare maps is registered here; memshare's SIGBUS handler puts
// zero-filled private pages over the faulting page (and, when the file is
// known to end before it, over every page to the end of the range) and lets
// the access finish.  The range is marked damaged: memshare's calls on it
// raise from then on, and the thread that faulted hears of it as soon as the
// interpreter can tell it (wait_for_shielded_faults()).  Reads of the
// replaced pages give zeros; writes to them reach no file and are lost.
//
// The handler only reads atomics, calls fstat() and mmap() and writes to an
// eventfd: all async-signal-safe.  Faults at addresses memshare did not map
// go to the handler that was installed before memshare's.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace memshare {

// What the shield did to a range: where its first replaced page starts (an
// offset into the range), and how many faults it took.
struct shield_damage {
    std::size_t first;
    std::uint64_t faults;
};

// The registration of one range with the shield: made with the mapping,
// ended (before munmap) with it.  `label` names the range in reports; it
// must outlive the registration.
class shielded_range {
public:
    shielded_range() noexcept = default;
    shielded_range(std::byte* begin, std::size_t size, int prot, std::size_t granule,
                   const std::string* label);
    ~shielded_range();
    shielded_range(shielded_range&& other) noexcept;
    shielded_range& operator=(shielded_range&& other) noexcept;
    shielded_range(const shielded_range&) = delete;
    shielded_range& operator=(const shielded_range&) = delete;

    // The range moved or changed size (mremap).
    void move_to(std::byte* begin, std::size_t size) noexcept;
    // Pages of the range may now allow `prot` too: replaced pages allow
    // everything any page of the range may, so no access that worked faults.
    void allow(int prot) noexcept;
    // The range maps file `fd` from `offset`: a fault past the file's end
    // replaces every page from there to the end of the range at once.
    // -1 when the descriptor is about to close.
    void watch_file(int fd, off_t offset) noexcept;
    // Whether, and how, the shield replaced pages of the range.
    [[nodiscard]] std::optional<shield_damage> damage() const noexcept;
    // The file size now, if the range watches its file.
    [[nodiscard]] std::optional<std::int64_t> file_size() const noexcept;
    void reset() noexcept;

private:
    static constexpr std::uint32_t none = 0xffffffff;
    std::uint32_t slot_ = none;
};

namespace detail {
// Called by the SIGBUS handler for a fault the kernel raised at `address`:
// true if the shield replaced the page (the access may be retried).
// `report_thread`: tell wait_for_shielded_faults() which thread faulted.
bool shield_fault(const void* address, bool report_thread) noexcept;
// Installs memshare's SIGBUS handler again if another took its place.
void install_sigbus_handler() noexcept;
} // namespace detail

// Blocks until the shield has replaced pages; returns the threads
// (pthread_self() values) whose accesses it shielded since the last call.
// The caller must not hold the GIL.  After fork(), the child waits on its
// own.
[[nodiscard]] std::vector<unsigned long> wait_for_shielded_faults();

// One sentence per range damaged since the last call: what it is, what
// shrank, and what was lost.
[[nodiscard]] std::string take_damage_report();

// The sentence for one range's damage, as the report gives it.
[[nodiscard]] std::string describe_damage(const std::string& label, std::size_t size,
                                          const shield_damage& damage,
                                          std::optional<std::int64_t> file_size,
                                          std::int64_t file_offset);

} // namespace memshare
