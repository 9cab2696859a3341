#include "files.hpp"
#include "reaper_protocol.hpp"

#include <memshare/error.hpp>
#include <memshare/reaper.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

extern char** environ;

namespace memshare {
namespace {

struct tracked_segment {
    std::uint64_t device;
    std::uint64_t inode;
};

// This process's end of the socket to its reaper, and what it tracks.  Never
// destroyed: a child may fork while static destructors run.
struct reaper_client {
    std::mutex mutex;
    std::string executable;
    unique_fd socket;
    std::map<std::string, tracked_segment> tracked;
};

reaper_client& client() {
    static auto* instance = new reaper_client;
    return *instance;
}

void forget_in_child() {
    // The segments belong to the parent; so does the reaper.  Release the
    // descriptor without close() racing anything: the child has one thread.
    reaper_client& c = client();
    c.socket.reset();
    c.tracked.clear();
    c.mutex.unlock();
}

void install_fork_handlers() {
    static std::once_flag once;
    std::call_once(once, [] {
        ::pthread_atfork([] { client().mutex.lock(); }, [] { client().mutex.unlock(); },
                         forget_in_child);
    });
}

// Starts a reaper reading the other end of a new socket pair, and returns
// the end this process writes.
unique_fd start_reaper(const std::string& executable) {
    if (executable.empty()) {
        throw os_error(ENOENT, "posix_spawn", "memshare-reaper",
                       "the reaper's location was never set; use track=False");
    }
    // A socket pair rather than a pipe: each record arrives as one message,
    // and sending to a reaper that is gone fails with EPIPE, not SIGPIPE.
    std::array<int, 2> ends{};
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends.data()) != 0) {
        throw_errno("socketpair");
    }
    unique_fd read_end(ends[0]);
    unique_fd write_end(ends[1]);

    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_adddup2(&actions, read_end.get(), 0);
    ::posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    ::posix_spawn_file_actions_adddup2(&actions, 1, 2);
    // Inheritable descriptors of this process are no business of the reaper.
    ::posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    const std::string creator = std::to_string(::getpid());
    std::vector<char*> argv = {const_cast<char*>("memshare-reaper"),
                               const_cast<char*>("--creator"),
                               const_cast<char*>(creator.c_str()), nullptr};
    // A session of its own from the start, before posix_spawn() returns:
    // a signal to this process's group right after can no longer reach it.
    // Default signal handling, and no blocked signals, whatever ours are.
    posix_spawnattr_t attributes;
    ::posix_spawnattr_init(&attributes);
    sigset_t all;
    sigset_t none;
    ::sigfillset(&all);
    ::sigemptyset(&none);
    ::posix_spawnattr_setsigdefault(&attributes, &all);
    ::posix_spawnattr_setsigmask(&attributes, &none);
    ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF |
                                                POSIX_SPAWN_SETSIGMASK);
    pid_t pid = 0;
    const int err = ::posix_spawn(&pid, executable.c_str(), &actions, &attributes,
                                  argv.data(), environ);
    ::posix_spawnattr_destroy(&attributes);
    ::posix_spawn_file_actions_destroy(&actions);
    if (err != 0) {
        throw os_error(err, "posix_spawn", executable,
                       "memshare-reaper removes tracked segments when their creator "
                       "ends; reinstall memshare, or use track=False");
    }
    // The reaper forks and its first process exits at once, so that it is
    // nobody's child here; waitpid() collects that first process.  ECHILD
    // means a SIGCHLD handler of the program collected it already.
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return write_end;
}

void send(reaper_client& c, detail::reaper_op op, const std::string& name,
          const tracked_segment& segment) {
    detail::reaper_record record{};
    record.op = op;
    record.name_length = static_cast<std::uint16_t>(name.size());
    record.device = segment.device;
    record.inode = segment.inode;
    std::vector<char> message(sizeof record + name.size());
    std::memcpy(message.data(), &record, sizeof record);
    std::memcpy(message.data() + sizeof record, name.data(), name.size());
    ssize_t sent = 0;
    do {
        sent = ::send(c.socket.get(), message.data(), message.size(), MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) {
        throw_errno("send to memshare-reaper");
    }
}

} // namespace

void set_reaper_executable(std::string path) {
    reaper_client& c = client();
    const std::scoped_lock lock(c.mutex);
    c.executable = std::move(path);
}

void track_segment(const shm_name& name, int fd) {
    const struct stat st = detail::stat_of(fd, name.bare());
    const tracked_segment segment{st.st_dev, st.st_ino};
    install_fork_handlers();
    reaper_client& c = client();
    const std::scoped_lock lock(c.mutex);
    if (!c.socket) {
        c.socket = start_reaper(c.executable);
    }
    try {
        send(c, detail::reaper_op::track, name.bare(), segment);
    } catch (const os_error& error) {
        if (error.code().value() != EPIPE) {
            throw;
        }
        // The reaper is gone (killed?): start another and tell it everything.
        c.socket = start_reaper(c.executable);
        for (const auto& [tracked_name, tracked] : c.tracked) {
            send(c, detail::reaper_op::track, tracked_name, tracked);
        }
        send(c, detail::reaper_op::track, name.bare(), segment);
    }
    c.tracked[name.bare()] = segment;
}

void untrack_segment(const shm_name& name) {
    reaper_client& c = client();
    const std::scoped_lock lock(c.mutex);
    const auto it = c.tracked.find(name.bare());
    if (it == c.tracked.end()) {
        return;
    }
    const tracked_segment segment = it->second;
    c.tracked.erase(it);
    try {
        send(c, detail::reaper_op::untrack, name.bare(), segment);
    } catch (const os_error&) {
        // A reaper that is gone cannot unlink the name either.
    }
}

} // namespace memshare
