// Mapping shared memory that another process sent.
#pragma once

#include <memshare/courier.hpp>
#include <memshare/file_identity.hpp>
#include <memshare/mapping.hpp>
#include <memshare/unique_fd.hpp>

#include <cstddef>

namespace memshare {

// The first `length` bytes of the memory `identity` that `offer` sends,
// mapped shared and read-write: taken back from the parked segments if this
// process has it there, else through the offered descriptor, which the
// mapping keeps, with the lease the handle carried (array_memory.hpp).
// Parked again once dropped (see parked_segments.hpp).
[[nodiscard]] Mapping map_offered(const descriptor_offer& offer,
                                  const file_identity& identity, std::size_t length);

// The first `length` bytes of shared memory `fd`, mapped shared and kept
// with the mapping; refused if the memory is smaller (a damaged handle).
[[nodiscard]] Mapping map_shared_memory(unique_fd fd, std::size_t length,
                                        bool readonly);

} // namespace memshare
