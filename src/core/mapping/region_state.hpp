// The state behind a Region, at an address that stays put while the Region
// object moves, so the fork registry can hold on to it.
#pragma once

#include <memshare/mapping/fault_shield.hpp>
#include <memshare/mapping/page_states.hpp>

#include <cstddef>
#include <string>

namespace memshare::detail {

struct region_state {
    std::byte* addr = nullptr;
    std::size_t size = 0;
    std::size_t granule = 0; // size of the pages the region is made of
    page_states pages;
    std::string target; // the file it maps, for messages; empty if anonymous
    bool in_fork_registry = false;
    std::int64_t file_offset = 0; // of addr, for a file mapping
    shielded_range shield;        // registered while mapped
};

} // namespace memshare::detail
