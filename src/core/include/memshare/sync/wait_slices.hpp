// Waiting in slices: a wait that may last long sleeps at most wait_slice at
// a time, so that the waiter can check for Ctrl-C between slices.
#pragma once

#include <time.h>

#include <chrono>
#include <optional>

namespace memshare {

using steady_time = std::chrono::steady_clock::time_point;

inline constexpr std::chrono::milliseconds wait_slice{20};

// `seconds` from now; none (wait for ever) without seconds, or for more
// than the clock can count to (threading.TIMEOUT_MAX is 292 years: adding
// it to now would overflow).
inline std::optional<steady_time> deadline_after(std::optional<double> seconds) {
    if (!seconds) {
        return std::nullopt;
    }
    const steady_time now = std::chrono::steady_clock::now();
    if (*seconds >= std::chrono::duration<double>(steady_time::max() - now).count()) {
        return std::nullopt;
    }
    return now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                     std::chrono::duration<double>(*seconds));
}

// When the next slice ends: in wait_slice, or at `deadline` if sooner;
// nothing if `deadline` has passed.
inline std::optional<steady_time> next_slice(std::optional<steady_time> deadline) {
    const steady_time now = std::chrono::steady_clock::now();
    if (deadline && now >= *deadline) {
        return std::nullopt;
    }
    const steady_time end = now + wait_slice;
    return deadline && *deadline < end ? *deadline : end;
}

// Calls `attempt(until)` slice after slice while it returns `again`; gives
// `timed_out` once `deadline` passes and `stopped` once `interrupted()`
// says so (it is called between slices).
template <class Outcome, class Attempt, class Interrupted>
Outcome in_slices(std::optional<steady_time> deadline, Outcome again, Outcome timed_out,
                  Outcome stopped, Attempt&& attempt, Interrupted&& interrupted) {
    for (;;) {
        const std::optional<steady_time> until = next_slice(deadline);
        if (!until) {
            return timed_out;
        }
        const Outcome got = attempt(*until);
        if (got != again) {
            return got;
        }
        if (interrupted()) {
            return stopped;
        }
    }
}

// The CLOCK_REALTIME time of `until` (for the calls that take only that
// clock, such as pthread_mutex_timedlock and sem_timedwait): a clock change
// during the wait moves only the end of one slice.
[[nodiscard]] timespec realtime_at(steady_time until) noexcept;

} // namespace memshare
