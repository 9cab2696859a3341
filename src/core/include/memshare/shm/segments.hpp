// What is in /dev/shm: each segment, with its size, owner, record and the
// processes that map it.
#pragma once

#include <memshare/shm/segment_record.hpp>
#include <memshare/shm/shm.hpp>

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace memshare {

struct segment_info {
    std::string name;
    std::int64_t size = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    mode_t mode = 0;
    std::int64_t modified_ns = 0;
    std::optional<segment_record> record; // if memshare created it
    bool creator_alive = false;           // known only with a record
    std::vector<pid_t> mapped_by;         // processes whose maps show it
};

// Every segment in /dev/shm, by name.  Processes whose maps this process may
// not read (other users', for anyone but root) are not counted in mapped_by.
[[nodiscard]] std::vector<segment_info> list_segments();

// One segment; FileNotFoundError if there is none of that name.
[[nodiscard]] segment_info describe_segment(const shm_name& name);

} // namespace memshare
