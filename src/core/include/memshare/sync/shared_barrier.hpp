// threading.Barrier in shared memory.  Its bookkeeping (how many arrived,
// which generation, broken or not) is guarded by a lock held for a
// few instructions at a time; the waiters sleep on a futex word that
// changes whenever a generation ends: released, broken or reset.
#pragma once

#include <memshare/sync/futex.hpp>
#include <memshare/sync/shared_lock.hpp>
#include <memshare/sync/sync_cell.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace memshare {

enum class barrier_end { released, broken, timed_out, interrupted };

class shared_barrier {
public:
    // The header and lock, then the generation word (generation << 1 |
    // broken), the last generation released, the count and the parties.
    static constexpr std::size_t cell_size = shared_lock::cell_size + 16;

    static shared_barrier make(std::byte* cell, std::uint32_t parties);
    static shared_barrier attach(std::byte* cell);

    struct arrival {
        std::uint32_t index;      // 0 for the first to arrive
        std::uint32_t generation; // the one it waits to end
        bool last;                // it ends it: by complete()
    };
    // Counts this party in; nothing if the barrier is broken.
    std::optional<arrival> arrive();
    // The last party ends the generation: released, or broken if its
    // action failed.
    void complete(std::uint32_t generation, bool released);
    // Waits for `generation` to end; breaks the barrier on a timeout.
    template <class Interrupted>
    barrier_end wait(std::uint32_t generation, std::optional<steady_time> deadline,
                     Interrupted&& interrupted);
    // Breaks it for every waiter and later arrival, until reset().
    void abort();
    // Breaks it for the waiters, then makes it whole and empty.
    void reset();

    [[nodiscard]] std::uint32_t parties() const noexcept;
    [[nodiscard]] std::uint32_t waiting();
    [[nodiscard]] bool broken() const noexcept;

private:
    explicit shared_barrier(std::byte* cell) noexcept;
    // Holds the bookkeeping lock while it lives; a holder that died left
    // the counts half-updated, so the barrier is broken then.
    class guard;
    [[nodiscard]] barrier_end end_of(std::uint32_t generation) const noexcept;
    void break_now() noexcept;

    shared_lock lock_;
    std::uint32_t* word_;     // generation << 1 | broken: the futex word
    std::uint32_t* released_; // the last generation released
    std::uint32_t* count_;
    std::uint32_t* parties_;
};

template <class Interrupted>
barrier_end shared_barrier::wait(std::uint32_t generation,
                                 std::optional<steady_time> deadline,
                                 Interrupted&& interrupted) {
    const std::uint32_t seen = generation << 1;
    switch (wait_while(*word_, seen, deadline, interrupted)) {
    case wait_outcome::changed:
        return end_of(generation);
    case wait_outcome::timed_out:
        abort(); // threading breaks a barrier a party timed out on
        return barrier_end::timed_out;
    case wait_outcome::interrupted:
        return barrier_end::interrupted;
    }
    return barrier_end::broken;
}

} // namespace memshare
