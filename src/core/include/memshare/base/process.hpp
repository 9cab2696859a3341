// Telling whether a process is the one we think it is.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace memshare {

// When process `pid` started, in clock ticks since boot (field 22 of
// /proc/PID/stat), or 0 if there is no such process.  Pids are reused; a pid
// with its start time names one process for as long as the machine runs.
[[nodiscard]] std::uint64_t process_start_time(pid_t pid) noexcept;

// Whether the process that started at `start_time` with `pid` still runs.
[[nodiscard]] bool process_alive(pid_t pid, std::uint64_t start_time) noexcept;

// A process as the synchronization primitives record their holders and
// waiters: its pid and the low 32 bits of its start time (0: unknown), so
// that a pid reused by a later process is not taken for the one recorded.
struct process_mark {
    std::uint32_t pid;
    std::uint32_t start;
};

// This process's mark: read once, and again in a child after fork().
[[nodiscard]] process_mark this_process() noexcept;

// The kernel's id of the calling thread (gettid()), unique among the
// threads of every process: read once per thread, and again after fork().
[[nodiscard]] std::uint32_t this_thread() noexcept;

// Whether the process `mark` names has ended: it is gone, a zombie (killed,
// not yet waited for), or its pid now belongs to a later process.  Reads
// /proc (a few microseconds): for waiters, not for the uncontended path.
[[nodiscard]] bool has_ended(process_mark mark) noexcept;

} // namespace memshare
