#include <memshare/sync/futex.hpp>

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>

namespace memshare {
namespace {

long futex(std::uint32_t& word, int op, std::uint32_t value,
           const timespec* timeout) noexcept {
    return ::syscall(SYS_futex, &word, op, value, timeout, nullptr,
                     FUTEX_BITSET_MATCH_ANY);
}

} // namespace

bool on_one_cpu() noexcept {
    static const bool alone = [] {
        cpu_set_t cpus;
        CPU_ZERO(&cpus);
        return ::sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) == 1;
    }();
    return alone;
}

void futex_wait(std::uint32_t& word, std::uint32_t seen, steady_time until) noexcept {
    // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time, which is
    // std::chrono::steady_clock's.  EINTR, EAGAIN (the word changed) and
    // ETIMEDOUT all mean: look again.
    const auto since_epoch = until.time_since_epoch();
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    const timespec when{
        static_cast<time_t>(seconds.count()),
        static_cast<long>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - seconds)
                .count())};
    futex(word, FUTEX_WAIT_BITSET, seen, &when);
}

void futex_wake(std::uint32_t& word, int count) noexcept {
    futex(word, FUTEX_WAKE, static_cast<std::uint32_t>(count), nullptr);
}

} // namespace memshare
