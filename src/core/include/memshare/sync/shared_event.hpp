// threading.Event in shared memory: one futex word holding the flag and a
// count of the times it was set (so that set() wakes every waiter waiting
// then, even if clear() follows at once: a waiter sees the count move), and
// the count of those waiting (so that set() makes no system call when
// nobody waits).
#pragma once

#include <memshare/sync/futex.hpp>
#include <memshare/sync/sync_cell.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace memshare {

class shared_event {
public:
    static constexpr std::size_t cell_size = 16; // header, word, waiters

    static shared_event make(std::byte* cell) noexcept;
    static shared_event attach(std::byte* cell);

    [[nodiscard]] bool is_set() const noexcept {
        return (shared_word(*word_).load() & flag) != 0;
    }
    void set() noexcept;
    void clear() noexcept { shared_word(*word_).fetch_and(~flag); }
    // Waits until the flag is set (at once if it is), `deadline` passes or
    // `interrupted()` says so: changed if it was set meanwhile, even if it
    // was cleared again since.
    template <class Interrupted>
    wait_outcome wait(std::optional<steady_time> deadline, Interrupted&& interrupted);

private:
    // The low bit of the word; the bits above it count the times set.
    static constexpr std::uint32_t flag = 1;

    explicit shared_event(std::byte* cell) noexcept;

    std::uint32_t* word_;
    std::uint32_t* waiters_;
};

template <class Interrupted>
wait_outcome shared_event::wait(std::optional<steady_time> deadline,
                                Interrupted&& interrupted) {
    const std::uint32_t seen = shared_word(*word_).load();
    if ((seen & flag) != 0 || spin_while(*word_, seen)) {
        return wait_outcome::changed; // set, or set then cleared: the count moved
    }
    // Counted only to sleep (a spinner costs set() no system call), and
    // before the word is looked at again (both sequentially consistent), so
    // that set() either sees this waiter or is seen by it.
    shared_word(*waiters_).fetch_add(1);
    const wait_outcome got = sleep_while(*word_, seen, deadline, interrupted);
    shared_word(*waiters_).fetch_sub(1);
    return got;
}

} // namespace memshare
