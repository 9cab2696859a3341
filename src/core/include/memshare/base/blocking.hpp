// How the core runs work that may block: a syscall that waits for I/O or
// faults pages in, or a large copy.  The Python bindings install a runner
// that releases the GIL around it; by default it runs in place.
#pragma once

#include <cstddef>
#include <type_traits>

namespace memshare {

using blocking_runner = void (*)(void (*call)(void*), void* context);

void set_blocking_runner(blocking_runner runner) noexcept;

namespace detail {
void run_blocking(void (*call)(void*), void* context);
}

// Copies and searches of this many bytes or more are handed to the runner.
inline constexpr std::size_t large_transfer = std::size_t{1} << 20;

// Calls `call()` through the runner.  `call` must touch nothing that another
// thread may change meanwhile: only memory the caller pinned and syscalls.
template <class Call>
void run_blocking(Call&& call) {
    detail::run_blocking(
        [](void* context) {
            (*static_cast<std::remove_reference_t<Call>*>(context))();
        },
        &call);
}

} // namespace memshare
