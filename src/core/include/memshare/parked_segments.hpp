// Shared memory received from other processes, kept mapped for a moment
// after its last array goes.
//
// A Pool worker that gets array after array of one segment (the tasks of a
// map over one big array) then maps the segment once, not once per task:
// no system calls to map and unmap it, and the pages it touched stay in its
// page tables instead of faulting in again.  Parked memory is unmapped
// after `parking_linger`, or sooner when more than `parking_places` wait,
// so that memory every other process has let go of is not held for long.
// A thread unmaps it in time; it runs only while something is parked.
#pragma once

#include <memshare/file_identity.hpp>
#include <memshare/mapping.hpp>

#include <chrono>
#include <cstddef>
#include <optional>

namespace memshare {

inline constexpr std::chrono::milliseconds parking_linger{1000};
inline constexpr std::size_t parking_places = 8;

// Keeps `mapping`, of the memory `identity`, mapped for parking_linger;
// unmaps it now if it cannot (no thread to unmap it later).
void park_segment(const file_identity& identity, Mapping mapping) noexcept;

// The parked mapping of the first `length` bytes of `identity`, taken back.
[[nodiscard]] std::optional<Mapping> unpark_segment(const file_identity& identity,
                                                    std::size_t length);

// How many segments are parked (for tests and introspection).
[[nodiscard]] std::size_t parked_segments();

} // namespace memshare
