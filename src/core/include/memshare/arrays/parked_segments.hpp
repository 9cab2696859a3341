// Array memory kept mapped for a moment after its last array goes.
//
// Parked: memory received from another process.  A Pool worker that gets
// array after array of one segment (the tasks of a map over one big array)
// then maps the segment once, not once per task: no system calls to map and
// unmap it, and the pages it touched stay in its page tables instead of
// faulting in again.
//
// Recycled: memory this process made, kept to be the memory of its next
// array of about that size (array_memory.hpp), so that allocating costs a
// memset instead of a page fault per page.
//
// Kept memory is unmapped after its linger, or sooner when its bay is full,
// so that memory every other process has let go of is not held for long.  A
// thread unmaps it in time; it runs only while something is kept.  A forked
// child keeps nothing of its parent's.
#pragma once

#include <memshare/base/file_identity.hpp>
#include <memshare/mapping/mapping.hpp>

#include <chrono>
#include <cstddef>
#include <optional>

namespace memshare {

inline constexpr std::chrono::milliseconds parking_linger{1000};
inline constexpr std::size_t parking_places = 8;
inline constexpr std::chrono::milliseconds recycling_linger{5000};
inline constexpr std::size_t recycling_places = 16;

// Bytes of recycled memory a process keeps at most: an eighth of the RAM,
// and no more than 4 GiB.
[[nodiscard]] std::size_t recycling_budget() noexcept;

// Keeps `mapping`, of the memory `identity` received from another process,
// for parking_linger; unmaps it now if it cannot (no thread to unmap it).
void park_segment(const file_identity& identity, Mapping mapping) noexcept;

// Keeps `mapping`, of array memory `identity` that this process made, for
// recycling_linger; unmaps it now if it cannot or it exceeds the budget.
void recycle_segment(const file_identity& identity, Mapping mapping) noexcept;

struct kept_segment {
    Mapping mapping;
    bool own; // recycled (made here), not parked
};

// The kept mapping of the first `length` bytes of `identity`, taken back
// (a handle of it arrived, with its lease).
[[nodiscard]] std::optional<kept_segment> unpark_segment(const file_identity& identity,
                                                         std::size_t length);

struct recycled_segment {
    file_identity identity;
    Mapping mapping;
};

// A recycled segment of `length` bytes or a little more that no process
// holds a lease on, leased to this process now; or none.
[[nodiscard]] std::optional<recycled_segment> reuse_segment(std::size_t length);

struct kept_totals {
    std::size_t parked;
    std::size_t parked_bytes;
    std::size_t recycled;
    std::size_t recycled_bytes;
};

// What is kept now (for ms.info() and tests).
[[nodiscard]] kept_totals kept_segments();

// Unmaps every kept segment now; returns the bytes let go of.
std::size_t release_kept_segments();

} // namespace memshare
