#include <memshare/arrays/parked_segments.hpp>
#include <memshare/arrays/received_memory.hpp>
#include <memshare/base/page.hpp>

#include <stdexcept>
#include <string>
#include <utility>

namespace memshare {

Mapping map_offered(const descriptor_offer& offer, const file_identity& identity,
                    std::size_t length) {
    check_offer(offer, true);
    if (length < 2 * page_size() || length % page_size() != 0) {
        throw std::invalid_argument(
            "a shared array's handle is damaged: its memory cannot be " +
            std::to_string(length) + " bytes long");
    }
    // Either way the mapping keeps the lease the handle carried.
    if (std::optional<kept_segment> kept = unpark_segment(identity, length)) {
        release_offer(offer); // its courier may drop its copy
        kept->mapping.lease_until_dropped(identity, kept->own);
        return std::move(kept->mapping);
    }
    Mapping mapping = Mapping::from_shared_memory(
        take_descriptor(offer, identity, length), length, false,
        "memfd of process " + std::to_string(offer.pid));
    mapping.lease_until_dropped(identity, false);
    return mapping;
}

} // namespace memshare
