// What a process tells its reaper through the socket between them: one
// message per segment it starts or stops tracking, a record and the name.
#pragma once

#include <cstdint>

namespace memshare::detail {

enum class reaper_op : std::uint8_t { track = 1, untrack = 2 };

struct reaper_record {
    reaper_op op;
    std::uint8_t reserved = 0;
    std::uint16_t name_length; // the bare name's bytes follow the record
    std::uint32_t reserved2 = 0;
    std::uint64_t device; // the segment's st_dev and st_ino: the reaper unlinks
    std::uint64_t inode;  // a name only while it still names that segment
};

} // namespace memshare::detail
