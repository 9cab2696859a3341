// threading.Condition in shared memory, without a process-shared pthread
// condition variable (which a waiter killed at the wrong moment leaves
// broken): one slot per waiter, each with a futex word, as threading gives
// each waiter a lock of its own.  A notifier takes waiting slots oldest
// first, so notify(n) wakes exactly n waiters (fewer if fewer wait), and
// passes over the slots of waiters whose process has died.
#pragma once

#include <memshare/sync/futex.hpp>
#include <memshare/sync/sync_cell.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace memshare {

class shared_condition {
public:
    // The header, the next ticket and the number of slots, then the slots.
    static constexpr std::size_t head_size = 16;
    static constexpr std::size_t slot_size = 16;
    static constexpr std::size_t cell_size(std::uint32_t slots) noexcept {
        return head_size + slot_size * slots;
    }

    static shared_condition make(std::byte* cell, std::uint32_t slots) noexcept;
    // Refused if `cell` holds no condition, or one larger than `available`.
    static shared_condition attach(std::byte* cell, std::size_t available);
    // How many slots the condition in `cell` has (its head is enough).
    [[nodiscard]] static std::uint32_t slots_in(std::byte* cell);

    [[nodiscard]] std::uint32_t slots() const noexcept { return slots_; }
    // Takes a slot for this process to wait in: its number, or nothing if
    // every slot is taken.  Called with the condition's lock held.
    [[nodiscard]] std::optional<std::uint32_t> enlist() noexcept;
    // Sleeps until slot `slot` is notified, `deadline` passes or
    // `interrupted()` says so.  Called without the lock (nor the GIL).
    template <class Interrupted>
    wait_outcome sleep(std::uint32_t slot, std::optional<steady_time> deadline,
                       Interrupted&& interrupted);
    // Gives the slot back: whether it was notified.
    bool leave(std::uint32_t slot) noexcept;
    // Wakes up to `count` waiters, oldest first: how many it woke.
    std::uint32_t notify(std::uint32_t count) noexcept;

private:
    enum : std::uint32_t { free_slot = 0, waiting = 1, notified = 2, claimed = 3 };
    struct slot_words {
        std::uint32_t state;
        std::uint32_t ticket; // order of arrival, wrapping around
        std::uint32_t pid;    // of the waiter's process, to pass over the dead
        std::uint32_t start;  // and its start time (process_mark)
    };

    shared_condition(std::byte* cell, std::uint32_t slots) noexcept;
    [[nodiscard]] slot_words& slot_at(std::uint32_t slot) const noexcept;
    // Whether the process of the waiter in `slot` has ended.
    [[nodiscard]] static bool waiter_ended(slot_words& slot) noexcept;
    // Frees the slots of waiters whose process has ended.
    void reclaim_dead() noexcept;

    std::uint32_t* next_ticket_;
    std::byte* slots_base_;
    std::uint32_t slots_;
};

template <class Interrupted>
wait_outcome shared_condition::sleep(std::uint32_t slot,
                                     std::optional<steady_time> deadline,
                                     Interrupted&& interrupted) {
    return wait_while(slot_at(slot).state, waiting, deadline, interrupted);
}

} // namespace memshare
