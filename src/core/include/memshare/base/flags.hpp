// The PROT_, MAP_, MS_ and MADV_ constants, and the checks that reject a bad
// combination with a message before the kernel sees it.
#pragma once

#include <span>
#include <string>

namespace memshare {

struct named_constant {
    const char* name;
    int value;
};

[[nodiscard]] std::span<const named_constant> prot_constants() noexcept;
[[nodiscard]] std::span<const named_constant> map_constants() noexcept;
[[nodiscard]] std::span<const named_constant> msync_constants() noexcept;
[[nodiscard]] std::span<const named_constant> madvise_constants() noexcept;
// MFD_ flags of memfd_create and F_SEAL_ seals of fcntl(F_ADD_SEALS).
[[nodiscard]] std::span<const named_constant> memfd_constants() noexcept;

// What an advice does to the pages it names, which decides how memshare
// checks a request before passing it on.
enum class advice_effect {
    hint,            // changes no data: the range may round out to whole pages
    discard,         // may drop data: the range must cover whole pages exactly
    set_dontfork,    // MADV_DONTFORK
    clear_dontfork,  // MADV_DOFORK
    child_attribute, // MADV_WIPEONFORK / KEEPONFORK: changes what children see
    set_guard,       // MADV_GUARD_INSTALL: pages fault on any access
    clear_guard,     // MADV_GUARD_REMOVE
    populate_read,   // MADV_POPULATE_READ: faults pages in for reading
    populate_write,  // MADV_POPULATE_WRITE: faults pages in for writing
    refused,         // MADV_HWPOISON: memshare will not make pages fatal to touch
};

struct advice_info {
    const char* name;
    int value;
    advice_effect effect;
    const char* since; // first Linux release that accepts it
};

// The advice with `value`, or nullptr for an advice memshare does not know.
[[nodiscard]] const advice_info* find_advice(int value) noexcept;

// Each throws os_error(EINVAL) naming the problem, as the kernel would answer
// EINVAL, but before any call is made.
void check_prot(int prot, const std::string& call);
void check_map_flags(int flags);
void check_msync_flags(int flags);

// "PROT_READ|PROT_WRITE", "MAP_SHARED|MAP_ANONYMOUS": for repr and messages.
[[nodiscard]] std::string describe_prot(int prot);
[[nodiscard]] std::string describe_map_flags(int flags);

// The running kernel's release, such as "6.8.0-45-generic".
[[nodiscard]] std::string kernel_release();

} // namespace memshare
