// Waiting in slices: a wait that may last long sleeps at most wait_slice at
// a time, so that the waiter can check for Ctrl-C between slices.
#pragma once

#include <chrono>
#include <optional>

namespace memshare {

using steady_time = std::chrono::steady_clock::time_point;

inline constexpr std::chrono::milliseconds wait_slice{20};

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

} // namespace memshare
