// Waiting on a 32-bit word of shared memory (futex(2)), as every memshare
// primitive but the mutexes does: a waiter sleeps while the word holds what
// it saw, and whoever changes the word wakes the sleepers.  The words are
// shared futexes, so they work across processes whatever address each
// maps them at.
#pragma once

#include <memshare/sync/wait_slices.hpp>

#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

namespace memshare {

enum class wait_outcome { changed, timed_out, interrupted };

// Sleeps while `word` holds `seen`, until woken or `until` (spurious
// wake-ups happen: callers look again).
void futex_wait(std::uint32_t& word, std::uint32_t seen, steady_time until) noexcept;
// Wakes up to `count` sleepers on `word`.
void futex_wake(std::uint32_t& word, int count) noexcept;
inline void futex_wake_all(std::uint32_t& word) noexcept {
    futex_wake(word, 0x7fffffff);
}

// A word of shared memory read and written atomically.
using shared_word = std::atomic_ref<std::uint32_t>;

// Tells the core it spins (a pause on x86, a yield on Arm).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

// Whether this process may run on one CPU only: spinning then only keeps
// the other side from running.  Read once.
[[nodiscard]] bool on_one_cpu() noexcept;

// How long spin_while() spins: on the CPU first, then giving it up.  By
// the clock, not by count: a pause takes 3 cycles on some CPUs and 140 on
// others.  Longer than a wake-up from sleep takes, even on a VM (100 us
// and more there): two sides that wake each other up would otherwise both
// be asleep whenever the other writes, and stay so, each waiting a wake-up
// per exchange.
inline constexpr std::chrono::microseconds spin_pausing{4};
inline constexpr std::chrono::microseconds spin_yielding{200};

// Spins while `word` holds `seen`: on the CPU first (the other side is
// often a few microseconds away on another core), then giving the CPU up
// (the other side may be waiting for this one): whether the word changed.
// On one CPU, looks once.
inline bool spin_while(std::uint32_t& word, std::uint32_t seen) noexcept {
    const auto changed = [&] { return shared_word(word).load() != seen; };
    if (on_one_cpu()) {
        return changed();
    }
    using clock = std::chrono::steady_clock;
    const clock::time_point start = clock::now();
    constexpr int pauses = 64; // between looks at the clock
    for (clock::duration spun{}; spun < spin_yielding; spun = clock::now() - start) {
        if (spun < spin_pausing) {
            for (int i = 0; i < pauses; ++i) {
                if (changed()) {
                    return true;
                }
                cpu_relax();
            }
        } else {
            if (changed()) {
                return true;
            }
            ::sched_yield();
        }
    }
    return changed();
}

// Sleeps in slices while `word` holds `seen` and `ready()` says no (what
// the waiter waits for may come without the word changing: from a waker
// that died before changing it), calling `interrupted()` between them.
// Call without the GIL.
template <class Ready, class Interrupted>
wait_outcome sleep_unless(std::uint32_t& word, std::uint32_t seen, Ready&& ready,
                          std::optional<steady_time> deadline,
                          Interrupted&& interrupted) {
    // timed_out from a slice means: sleep again.
    return in_slices(
        deadline, wait_outcome::timed_out, wait_outcome::timed_out,
        wait_outcome::interrupted,
        [&](steady_time until) {
            futex_wait(word, seen, until);
            return shared_word(word).load() != seen || ready()
                       ? wait_outcome::changed
                       : wait_outcome::timed_out;
        },
        interrupted);
}

// Sleeps in slices while `word` holds `seen`, calling `interrupted()`
// between them.  Call without the GIL.
template <class Interrupted>
wait_outcome sleep_while(std::uint32_t& word, std::uint32_t seen,
                         std::optional<steady_time> deadline,
                         Interrupted&& interrupted) {
    return sleep_unless(word, seen, [] { return false; }, deadline, interrupted);
}

// spin_while(), then sleep_while().
template <class Interrupted>
wait_outcome wait_while(std::uint32_t& word, std::uint32_t seen,
                        std::optional<steady_time> deadline,
                        Interrupted&& interrupted) {
    if (spin_while(word, seen)) {
        return wait_outcome::changed;
    }
    return sleep_while(word, seen, deadline, interrupted);
}

} // namespace memshare
