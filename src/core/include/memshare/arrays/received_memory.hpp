// Mapping shared memory that another process sent.
#pragma once

#include <memshare/arrays/courier.hpp>
#include <memshare/base/file_identity.hpp>
#include <memshare/mapping/mapping.hpp>

#include <cstddef>

namespace memshare {

// The first `length` bytes of the memory `identity` that `offer` sends,
// mapped shared and read-write: taken back from the parked segments if this
// process has it there, else through the offered descriptor, which the
// mapping keeps, with the lease the handle carried (array_memory.hpp).
// Parked again once dropped (see parked_segments.hpp).
[[nodiscard]] Mapping map_offered(const descriptor_offer& offer,
                                  const file_identity& identity, std::size_t length);

} // namespace memshare
