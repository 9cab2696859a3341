// threading.Event in shared memory: a flag, and the count of those waiting
// for it (so that set() makes no system call when nobody waits).
#pragma once

#include <memshare/futex.hpp>
#include <memshare/sync_cell.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace memshare {

class shared_event {
public:
    static constexpr std::size_t cell_size = 16; // header, flag, waiters

    static shared_event make(std::byte* cell) noexcept;
    static shared_event attach(std::byte* cell);

    [[nodiscard]] bool is_set() const noexcept {
        return shared_word(*flag_).load() != 0;
    }
    void set() noexcept;
    void clear() noexcept { shared_word(*flag_).store(0); }
    // Whether the flag is set when the wait ends: at once if it is, else
    // when set() is called, `deadline` passes or `interrupted()` says so.
    template <class Interrupted>
    wait_outcome wait(std::optional<steady_time> deadline, Interrupted&& interrupted);

private:
    explicit shared_event(std::byte* cell) noexcept;

    std::uint32_t* flag_;
    std::uint32_t* waiters_;
};

template <class Interrupted>
wait_outcome shared_event::wait(std::optional<steady_time> deadline,
                                Interrupted&& interrupted) {
    if (spin_while(*flag_, 0)) {
        return wait_outcome::changed;
    }
    // Counted only to sleep (a spinner costs set() no system call), and
    // before the flag is looked at again (both sequentially consistent), so
    // that set() either sees this waiter or is seen by it.
    shared_word(*waiters_).fetch_add(1);
    const wait_outcome got = sleep_while(*flag_, 0, deadline, interrupted);
    shared_word(*waiters_).fetch_sub(1);
    return got;
}

} // namespace memshare
