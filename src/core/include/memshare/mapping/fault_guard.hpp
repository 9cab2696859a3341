// Memory accesses that survive SIGBUS.
//
// Touching a page of a file mapping that lies past the end of the file (the
// file was truncated after it was mapped, perhaps by another process) or that
// the filesystem cannot supply (a full tmpfs) raises SIGBUS, which kills the
// process.  An access run by guarded() that faults inside the range it names
// stops at the fault instead, and guarded() says where.  Faults elsewhere go
// to the handler that was there before memshare's.
#pragma once

#include <cstddef>
#include <optional>
#include <type_traits>

namespace memshare {

struct memory_fault {
    const std::byte* address;
    int code; // the si_code of the SIGBUS, such as BUS_ADRERR
};

namespace detail {
std::optional<memory_fault> guarded(const std::byte* begin, std::size_t size,
                                    void (*access)(void*), void* context) noexcept;
}

// Runs `access()`; if it raises SIGBUS for an address in [begin, begin + size),
// it stops there and the fault is returned.  A fault ends `access` without
// unwinding it, so it must own nothing that needs destroying: memcpy, memchr
// and their kind.
template <class Access>
[[nodiscard]] std::optional<memory_fault>
guarded(const std::byte* begin, std::size_t size, Access&& access) noexcept {
    return detail::guarded(
        begin, size,
        [](void* context) {
            (*static_cast<std::remove_reference_t<Access>*>(context))();
        },
        &access);
}

} // namespace memshare
