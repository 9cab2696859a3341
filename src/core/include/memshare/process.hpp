// Telling whether a process is the one we think it is.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace memshare {

// When process `pid` started, in clock ticks since boot (field 22 of
// /proc/PID/stat), or 0 if there is no such process.  Pids are reused; a pid
// with its start time names one process for as long as the machine runs.
[[nodiscard]] std::uint64_t process_start_time(pid_t pid);

// Whether the process that started at `start_time` with `pid` still runs.
[[nodiscard]] bool process_alive(pid_t pid, std::uint64_t start_time);

} // namespace memshare
