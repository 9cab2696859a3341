// Removing the segments a process created when it ends, however it ends:
// with exit(), an exception, or SIGKILL.
//
// The first tracked segment starts a helper process, memshare-reaper, in a
// session of its own (so Ctrl-C and signals to the creator's process group
// miss it).  It holds one end of a socket pair; each tracked name is sent
// to it.  When the creator ends, the kernel closes the other end; the reaper
// reads end-of-file and unlinks every name still tracked, if it still names
// the same segment.  A forked child closes its copy of the creator's end, so
// that the segments go with their creator, not with its children.
#pragma once

#include <memshare/shm/shm.hpp>

#include <string>

namespace memshare {

// Where the memshare-reaper executable is; set once, before tracking.
void set_reaper_executable(std::string path);

// Tracks the segment open as `fd` under `name`.
void track_segment(const shm_name& name, int fd);

// Stops tracking `name`, if this process tracks it.
void untrack_segment(const shm_name& name);

} // namespace memshare
