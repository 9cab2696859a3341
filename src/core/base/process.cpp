#include <memshare/base/process.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <string_view>

namespace memshare {
namespace {

// What /proc/PID/stat tells of a process.
struct process_stat {
    bool found = false; // false: no such process, or /proc does not show it
    bool ended = false; // a zombie, or dead and not yet reaped
    std::uint64_t start = 0;
};

// Reads /proc/PID/stat with plain syscalls, without allocating: the waits
// of the primitives call this between slices.
process_stat read_stat(pid_t pid) noexcept {
    char path[32];
    std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return {};
    }
    char text[1024];
    const ssize_t got = ::read(fd, text, sizeof text);
    ::close(fd);
    if (got <= 0) {
        return {};
    }
    // The command name (field 2) may hold spaces and ')'; the fields after
    // it start past its last ')': the state (field 3), ... the start time
    // (field 22).
    const std::string_view stat(text, static_cast<std::size_t>(got));
    const std::size_t end_of_name = stat.rfind(')');
    if (end_of_name == std::string_view::npos || end_of_name + 2 >= stat.size()) {
        return {};
    }
    process_stat result{
        true, stat[end_of_name + 2] == 'Z' || stat[end_of_name + 2] == 'X', 0};
    std::size_t at = end_of_name + 1;
    for (int field = 3; field <= 22 && at < stat.size(); ++field) {
        const std::size_t begin = stat.find_first_not_of(' ', at);
        if (begin == std::string_view::npos) {
            break;
        }
        const std::size_t end = std::min(stat.find(' ', begin), stat.size());
        if (field == 22) {
            std::from_chars(stat.data() + begin, stat.data() + end, result.start);
        }
        at = end;
    }
    return result;
}

// This process's mark, 0 until read; cleared in a child after fork().
std::atomic<std::uint64_t> own_mark{0};

void forget_own_mark() noexcept {
    own_mark.store(0, std::memory_order_relaxed);
}

} // namespace

std::uint64_t process_start_time(pid_t pid) noexcept {
    return read_stat(pid).start;
}

bool process_alive(pid_t pid, std::uint64_t start_time) noexcept {
    return pid > 0 && start_time != 0 && process_start_time(pid) == start_time;
}

process_mark this_process() noexcept {
    std::uint64_t mark = own_mark.load(std::memory_order_relaxed);
    if (mark == 0) {
        static const int registered =
            ::pthread_atfork(nullptr, nullptr, forget_own_mark);
        static_cast<void>(registered);
        const pid_t pid = ::getpid();
        const auto start = static_cast<std::uint32_t>(process_start_time(pid));
        mark = std::uint64_t{start} << 32 | static_cast<std::uint32_t>(pid);
        own_mark.store(mark, std::memory_order_relaxed);
    }
    return {static_cast<std::uint32_t>(mark), static_cast<std::uint32_t>(mark >> 32)};
}

std::uint32_t this_thread() noexcept {
    // Cached with the pid it was read in: a forked child's thread has a
    // new id.
    struct thread_in_process {
        std::uint32_t pid;
        std::uint32_t tid;
    };
    thread_local thread_in_process cached{0, 0};
    const std::uint32_t pid = this_process().pid;
    if (cached.pid != pid) {
        cached = {pid, static_cast<std::uint32_t>(::gettid())};
    }
    return cached.tid;
}

bool has_ended(process_mark mark) noexcept {
    const auto pid = static_cast<pid_t>(mark.pid);
    if (pid <= 0) {
        return true; // no process has that pid: the bytes are not a holder's
    }
    if (const process_mark self = this_process(); mark.pid == self.pid) {
        // This process, without reading /proc; or one before it with its pid.
        return mark.start != self.start;
    }
    const process_stat stat = read_stat(pid);
    if (!stat.found) {
        // Gone, or hidden (/proc mounted with hidepid=, or not at all): only
        // kill() can tell these apart.
        return ::kill(pid, 0) != 0 && errno == ESRCH;
    }
    return stat.ended ||
           (mark.start != 0 && static_cast<std::uint32_t>(stat.start) != mark.start);
}

} // namespace memshare
