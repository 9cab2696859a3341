// Shared memory for arrays, reused at memory speed.
//
// Fresh shared memory costs a page fault per page the first time it is
// touched (the kernel zeroes each one): about 1 GB/s, against tens of GB/s
// for writing memory already in place.  So the memory of arrays a process
// lets go of is kept a moment (see parked_segments.hpp) and handed to the
// next array that fits, zeroed with memset for zeros() and as it is for
// empty(), as NumPy's allocator reuses memory.
//
// Memory may only be reused when no other process can still reach it.  Each
// segment ends with a page holding its lease count: one for each process
// with arrays of it alive (through the mapping that holds the lease) and one
// for each handle of it sent and not yet received.  A process made or
// receiving the memory holds a lease until its mapping is dropped; sending a
// handle adds one, which the receiver keeps or, if it has arrays of the
// memory already, gives back.  Only a segment whose count is zero is reused,
// and taking it sets the count to one in one compare-and-swap, so two
// processes never take the same memory.  A process that dies holding a lease
// (or a handle never received) only keeps the memory from being reused:
// it is freed as before, once everyone has let go.
#pragma once

#include <memshare/base/file_identity.hpp>
#include <memshare/mapping/mapping.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace memshare {

// The bytes of a segment for `bytes` of array data: at least one page, then
// the lease page.
[[nodiscard]] std::size_t array_memory_length(std::size_t bytes) noexcept;

// Memory for an array of `bytes` bytes, leased by this process: recycled if
// a segment of this process fits (zeroed if `zero`), else a new memfd; of
// huge pages from the pool the administrator reserved, for arrays of a huge
// page or more, while the pool has enough free.
[[nodiscard]] Mapping new_array_memory(std::size_t bytes, bool zero);

// The lease count at the end of array memory `mapping`.
[[nodiscard]] std::atomic<std::uint64_t>& lease_of(const Mapping& mapping);

// A handle of `mapping` is being sent: it holds a lease until received.
void count_handle(const Mapping& mapping);

// A lease goes back: a handle was received by a process with arrays of the
// memory already, or a mapping holding one was dropped.
void release_lease(const Mapping& mapping) noexcept;

} // namespace memshare
