// Starting memshare's helper processes (memshare-reaper, memshare-courier).
#pragma once

#include <string>
#include <vector>

namespace memshare::detail {

// Runs `executable` with `arguments` in a session of its own from the start
// (so a signal to this process's group right after cannot reach it), with
// default signal handling and no blocked signals, `descriptors[i]` as its
// descriptor i (-1: /dev/null) and every other descriptor closed.  Helpers
// fork at once and live on as orphans: this returns when the first process
// has exited.  `purpose` tells users, in errors, what the helper is for.
void spawn_helper(const std::string& executable,
                  const std::vector<std::string>& arguments,
                  const std::vector<int>& descriptors, const std::string& purpose);

} // namespace memshare::detail
