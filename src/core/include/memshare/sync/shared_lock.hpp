// A lock in shared memory, built on a futex word memshare owns.
//
// Its whole state is one 64-bit word of values, never pointers (glibc's
// robust mutexes keep list pointers in the mutex, which a stray write turns
// into a crash): the holder's process mark (pid and start time, 0 when
// free) and a bit that says someone may sleep on it.  So any bytes in the
// cell give a state, wrong perhaps, never a crash, and any thread or
// process may release it, as threading.Lock and multiprocessing.Lock allow.
// An RLock also records the thread that holds it and how many times.
//
// A holder that dies is found by its waiters, which look at the holder's
// process before they sleep and whenever a slice of sleep passes with the
// word unchanged: the next acquirer takes the lock over and is told
// (owner_died).  Owner death is a property of processes, not threads: a
// thread that ends holding the lock leaves it held, as in threading.
#pragma once

#include <memshare/sync/futex.hpp>
#include <memshare/sync/sync_cell.hpp>
#include <memshare/sync/wait_slices.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace memshare {

enum class lock_outcome {
    acquired,
    owner_died, // acquired, from a holder whose process ended without unlocking
    busy,
    timed_out,
    interrupted,
};

class shared_lock {
public:
    // The header, the state, then an RLock's owner thread and depth.
    static constexpr std::size_t cell_size = 24;

    // Makes a free lock in `cell` (recursive for an RLock), overwriting
    // whatever was there; the header says `kind` (a Barrier or Queue starts
    // with the lock that guards it).
    static shared_lock make(std::byte* cell, sync_kind kind) noexcept;
    // The lock already in `cell`; refused if there is none of that kind.
    static shared_lock attach(std::byte* cell, sync_kind kind);
    // The lock at the start of `cell`, whose header the caller checked.
    static shared_lock attach_unchecked(std::byte* cell) noexcept;

    // Without waiting and without a system call: acquired or busy.
    lock_outcome try_lock() noexcept;
    // If the holder's process has ended, takes the lock over (owner_died);
    // else busy.  Reads /proc: for when try_lock() said busy.
    lock_outcome take_over() noexcept;
    // Waits until `deadline` (none: for ever) in slices, calling
    // `interrupted()` between them: if it says so, gives up.  Call without
    // the GIL; `interrupted` takes it if it needs it.
    template <class Interrupted>
    lock_outcome lock(std::optional<steady_time> deadline, Interrupted&& interrupted);
    // For a lock that guards only a few instructions: waits, uninterrupted,
    // until acquired or owner_died; timed_out after a second.
    lock_outcome lock_briefly() noexcept;
    // False if the lock is not held (an RLock: not by this thread).
    [[nodiscard]] bool unlock() noexcept;
    // Whether some thread of some process holds it.
    [[nodiscard]] bool locked() const noexcept;
    // An RLock: how many times this thread holds it (0: it does not).  A
    // Lock has no owner: 1 if anyone holds it, as threading.Condition
    // takes a held Lock for its own.
    [[nodiscard]] std::uint32_t depth() const noexcept;

private:
    shared_lock(std::byte* cell, bool recursive) noexcept;
    // The word futex(2) sleeps on: the state's low half.
    [[nodiscard]] std::uint32_t& futex_word() const noexcept;
    // Takes the lock if the state is still `seen`, keeping `waiters` (the
    // waiters bit or 0): whether it did.
    bool take(std::uint64_t seen, std::uint64_t waiters) noexcept;
    // Whether this thread holds this RLock.
    [[nodiscard]] bool held_here() const noexcept;
    // Spins a little while the lock is held: acquired, or busy.
    lock_outcome spin() noexcept;
    // One slice of lock(): sleeps until `until` at the latest.
    lock_outcome lock_until(steady_time until) noexcept;

    std::uint64_t* state_;
    std::uint32_t* owner_; // an RLock's holding thread (gettid())
    std::uint32_t* depth_; // and how many times it holds it
    bool recursive_;
};

template <class Interrupted>
lock_outcome shared_lock::lock(std::optional<steady_time> deadline,
                               Interrupted&& interrupted) {
    // Most holders let go within the spin; one that is already dead is
    // found before the first sleep.
    lock_outcome got = spin();
    if (got == lock_outcome::busy) {
        got = take_over();
    }
    if (got != lock_outcome::busy) {
        return got;
    }
    // busy: the slice ended; anything else ends the wait.
    return in_slices(
        deadline, lock_outcome::busy, lock_outcome::timed_out,
        lock_outcome::interrupted,
        [this](steady_time until) { return lock_until(until); }, interrupted);
}

} // namespace memshare
