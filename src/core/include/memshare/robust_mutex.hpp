// A mutex in shared memory that survives the death of its holder: glibc's
// robust, process-shared pthread mutex.  When a process dies holding it,
// the kernel marks it, and the next locker gets it together with the news
// (owner_died); memshare then makes it consistent at once, so the lock is
// never poisoned: what the lock guards is the caller's to check.
#pragma once

#include <memshare/sync_cell.hpp>
#include <memshare/wait_slices.hpp>

#include <pthread.h>

#include <chrono>
#include <cstddef>
#include <optional>

namespace memshare {

enum class lock_outcome {
    acquired,
    owner_died, // acquired, from a holder that ended without unlocking
    busy,
    timed_out,
    interrupted,
    held_here, // a non-recursive mutex this thread holds: waiting would never end
};

class robust_mutex {
public:
    // The cell: the header, then the pthread mutex.
    static constexpr std::size_t header_size = 8;
    static constexpr std::size_t cell_size = header_size + sizeof(pthread_mutex_t);

    // Makes a new mutex in `cell` (recursive for an RLock), overwriting
    // whatever was there.
    static robust_mutex make(std::byte* cell, sync_kind kind);
    // The mutex already in `cell`; refused if there is none of that kind.
    static robust_mutex attach(std::byte* cell, sync_kind kind);
    // The mutex in `cell`, whose header the caller checked (a primitive
    // that holds a mutex among other things).
    static robust_mutex attach_unchecked(std::byte* cell) noexcept;

    // Without waiting: acquired, owner_died (acquired too) or busy.
    lock_outcome try_lock();
    // For a mutex that guards only a few instructions (never a wait):
    // acquired or owner_died, without slices.
    lock_outcome lock_briefly();
    // Waits until `deadline` (none: for ever) in slices, calling
    // `interrupted()` between them: if it says so, gives up.  Call without
    // the GIL; `interrupted` takes it if it needs it.
    template <class Interrupted>
    lock_outcome lock(std::optional<steady_time> deadline, Interrupted&& interrupted);
    // False if this thread does not hold it (RuntimeError, as threading).
    [[nodiscard]] bool unlock() noexcept;
    // Whether some thread holds it (the owner field of glibc's mutex).
    [[nodiscard]] bool locked() const noexcept;
    // How many times this thread holds it: 0 if it does not, more than 1
    // for an RLock acquired again (a Condition releases them all to wait).
    [[nodiscard]] unsigned depth() const noexcept;

private:
    explicit robust_mutex(pthread_mutex_t* mutex) noexcept : mutex_(mutex) {}
    // One slice of lock(): waits until `until` at the latest.
    lock_outcome lock_until(steady_time until);

    pthread_mutex_t* mutex_;
};

template <class Interrupted>
lock_outcome robust_mutex::lock(std::optional<steady_time> deadline,
                                Interrupted&& interrupted) {
    // busy: the slice ended; held_here and the rest end the wait.
    return in_slices(
        deadline, lock_outcome::busy, lock_outcome::timed_out,
        lock_outcome::interrupted,
        [this](steady_time until) { return lock_until(until); }, interrupted);
}

} // namespace memshare
