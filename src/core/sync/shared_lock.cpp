#include <memshare/base/process.hpp>
#include <memshare/sync/shared_lock.hpp>

#include <atomic>
#include <bit>
#include <chrono>

namespace memshare {
namespace {

using shared_state = std::atomic_ref<std::uint64_t>;

// The state: the holder's start time in the high half; in the low half,
// the futex word, its pid and the bit that says someone may sleep.  Pids
// are below 2^22 (PID_MAX_LIMIT), so they never reach that bit.
constexpr std::uint64_t pid_mask = 0x3fffffff;
constexpr std::uint64_t waiters_bit = 0x80000000;

std::uint64_t state_of(process_mark mark) noexcept {
    return std::uint64_t{mark.start} << 32 | mark.pid;
}

process_mark holder_of(std::uint64_t state) noexcept {
    return {static_cast<std::uint32_t>(state & pid_mask),
            static_cast<std::uint32_t>(state >> 32)};
}

bool is_held(std::uint64_t state) noexcept {
    return (state & pid_mask) != 0;
}

} // namespace

shared_lock::shared_lock(std::byte* cell, bool recursive) noexcept
    : state_(reinterpret_cast<std::uint64_t*>(cell + sizeof(sync_header))),
      owner_(reinterpret_cast<std::uint32_t*>(state_ + 1)), depth_(owner_ + 1),
      recursive_(recursive) {}

shared_lock shared_lock::make(std::byte* cell, sync_kind kind) noexcept {
    const shared_lock lock(cell, kind == sync_kind::rlock);
    shared_state(*lock.state_).store(0);
    shared_word(*lock.owner_).store(0);
    shared_word(*lock.depth_).store(0);
    stamp_header(cell, kind);
    return lock;
}

shared_lock shared_lock::attach(std::byte* cell, sync_kind kind) {
    check_header(cell, kind);
    return {cell, kind == sync_kind::rlock};
}

shared_lock shared_lock::attach_unchecked(std::byte* cell) noexcept {
    return {cell, false};
}

std::uint32_t& shared_lock::futex_word() const noexcept {
    auto* halves = reinterpret_cast<std::uint32_t*>(state_);
    return halves[std::endian::native == std::endian::little ? 0 : 1];
}

bool shared_lock::take(std::uint64_t seen, std::uint64_t waiters) noexcept {
    if (!shared_state(*state_).compare_exchange_strong(seen, state_of(this_process()) |
                                                                 waiters)) {
        return false;
    }
    if (recursive_) {
        shared_word(*owner_).store(this_thread());
        shared_word(*depth_).store(1);
    }
    return true;
}

bool shared_lock::held_here() const noexcept {
    const std::uint64_t state = shared_state(*state_).load(std::memory_order_relaxed);
    return (state & pid_mask) == this_process().pid &&
           shared_word(*owner_).load(std::memory_order_relaxed) == this_thread();
}

lock_outcome shared_lock::try_lock() noexcept {
    if (recursive_ && held_here()) {
        const std::uint32_t depth =
            shared_word(*depth_).load(std::memory_order_relaxed);
        if (depth == ~std::uint32_t{0}) {
            return lock_outcome::busy; // held as many times as it counts
        }
        shared_word(*depth_).store(depth + 1, std::memory_order_relaxed);
        return lock_outcome::acquired;
    }
    return take(0, 0) ? lock_outcome::acquired : lock_outcome::busy;
}

lock_outcome shared_lock::take_over() noexcept {
    const std::uint64_t seen = shared_state(*state_).load();
    if (!is_held(seen)) { // let go of meanwhile
        return take(seen, seen & waiters_bit) ? lock_outcome::acquired
                                              : lock_outcome::busy;
    }
    if (!has_ended(holder_of(seen))) {
        return lock_outcome::busy;
    }
    // Only if nobody took it over first: the state still names the dead.
    return take(seen, seen & waiters_bit) ? lock_outcome::owner_died
                                          : lock_outcome::busy;
}

lock_outcome shared_lock::spin() noexcept {
    constexpr int pauses = 500; // a few microseconds: a holder on another
                                // core often lets go within them
    const int rounds = on_one_cpu() ? 0 : pauses;
    for (int i = 0; i < rounds; ++i) {
        const std::uint64_t seen =
            shared_state(*state_).load(std::memory_order_relaxed);
        if (!is_held(seen) && take(seen, seen & waiters_bit)) {
            return lock_outcome::acquired;
        }
        cpu_relax();
    }
    return lock_outcome::busy;
}

lock_outcome shared_lock::lock_until(steady_time until) noexcept {
    for (;;) {
        std::uint64_t seen = shared_state(*state_).load();
        if (!is_held(seen)) {
            // Taken with the waiters bit: others may still sleep, and this
            // thread's unlock must wake them.
            if (take(seen, waiters_bit)) {
                return lock_outcome::acquired;
            }
            continue;
        }
        if ((seen & waiters_bit) == 0) {
            if (!shared_state(*state_).compare_exchange_strong(seen,
                                                               seen | waiters_bit)) {
                continue;
            }
            seen |= waiters_bit;
        }
        futex_wait(futex_word(), static_cast<std::uint32_t>(seen), until);
        if (std::chrono::steady_clock::now() >= until) {
            // A slice passed: if nobody took or let go of the lock meanwhile,
            // its holder may have died.
            return shared_state(*state_).load() == seen ? take_over()
                                                        : lock_outcome::busy;
        }
    }
}

lock_outcome shared_lock::lock_briefly() noexcept {
    if (try_lock() == lock_outcome::acquired) {
        return lock_outcome::acquired;
    }
    // Such a lock is held for a few instructions: one held for a second is
    // damaged, or its holder is stopped.
    return lock(deadline_after(1.0), [] { return false; });
}

bool shared_lock::unlock() noexcept {
    if (recursive_) {
        if (!held_here()) {
            return false;
        }
        const std::uint32_t depth =
            shared_word(*depth_).load(std::memory_order_relaxed);
        if (depth > 1) {
            shared_word(*depth_).store(depth - 1, std::memory_order_relaxed);
            return true;
        }
        shared_word(*owner_).store(0);
        shared_word(*depth_).store(0);
    }
    const std::uint64_t was = shared_state(*state_).exchange(0);
    if ((was & waiters_bit) != 0) {
        futex_wake(futex_word(), 1);
    }
    return is_held(was);
}

bool shared_lock::locked() const noexcept {
    return is_held(shared_state(*state_).load());
}

std::uint32_t shared_lock::depth() const noexcept {
    if (!recursive_) {
        return locked() ? 1 : 0;
    }
    return held_here() ? shared_word(*depth_).load(std::memory_order_relaxed) : 0;
}

} // namespace memshare
