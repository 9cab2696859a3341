#include "files.hpp"

#include <memshare/parked_segments.hpp>
#include <memshare/received_memory.hpp>

#include <string>
#include <utility>

namespace memshare {

Mapping map_offered(const descriptor_offer& offer, const file_identity& identity,
                    std::size_t length) {
    std::optional<Mapping> mapping = unpark_segment(identity, length);
    if (mapping) {
        release_offer(offer); // its courier may drop its copy
    } else {
        mapping = Mapping::from_shared_memory(
            take_descriptor(offer, identity, length), length, false,
            "memfd of process " + std::to_string(offer.pid));
    }
    mapping->park_when_dropped(identity);
    return *std::move(mapping);
}

Mapping map_shared_memory(unique_fd fd, std::size_t length, bool readonly) {
    const std::string target = "descriptor " + std::to_string(fd.get());
    detail::check_size(detail::stat_of(fd.get(), target), length, target);
    return Mapping::from_shared_memory(std::move(fd), length, readonly, target);
}

} // namespace memshare
