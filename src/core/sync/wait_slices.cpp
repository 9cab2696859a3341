#include <memshare/sync/wait_slices.hpp>

#include <algorithm>
#include <cstdint>

namespace memshare {

timespec realtime_at(steady_time until) noexcept {
    const auto left = until - std::chrono::steady_clock::now();
    const std::int64_t nanoseconds = std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::nanoseconds>(left).count());
    timespec when{};
    ::clock_gettime(CLOCK_REALTIME, &when);
    when.tv_sec += static_cast<time_t>(nanoseconds / 1'000'000'000);
    when.tv_nsec += static_cast<long>(nanoseconds % 1'000'000'000);
    if (when.tv_nsec >= 1'000'000'000) {
        when.tv_sec += 1;
        when.tv_nsec -= 1'000'000'000;
    }
    return when;
}

} // namespace memshare
