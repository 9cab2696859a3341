// What memshare writes on each segment it creates, as the extended attribute
// "user.memshare": who created it, when, and whether it goes with its
// creator.  `ls` and `clean` read it; the segment's bytes are untouched, so
// any other program sees the memory exactly as it was written.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace memshare {

inline constexpr const char* segment_record_attribute = "user.memshare";

struct segment_record {
    pid_t creator = 0;
    std::uint64_t creator_start = 0; // see process_start_time()
    std::int64_t created_ns = 0;     // Unix time
    bool tracked = false;            // unlinked when the creator ends

    // This process, now.
    static segment_record now(bool tracked);
};

// False where the filesystem keeps no user attributes (tmpfs before Linux
// 6.6): the segment then works as any other, but `ls` cannot name its
// creator and `clean` leaves it alone.
bool write_record(int fd, const segment_record& record);

// The record of a segment, if memshare made it.
[[nodiscard]] std::optional<segment_record> read_record(const std::string& path);

} // namespace memshare
