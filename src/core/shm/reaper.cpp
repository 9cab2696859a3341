#include "base/files.hpp"
#include "base/helper_process.hpp"
#include "shm/reaper_protocol.hpp"

#include <memshare/base/error.hpp>
#include <memshare/shm/reaper.hpp>

#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

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
    // A socket pair rather than a pipe: each record arrives as one message,
    // and sending to a reaper that is gone fails with EPIPE, not SIGPIPE.
    std::array<int, 2> ends{};
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends.data()) != 0) {
        throw_errno("socketpair");
    }
    unique_fd reaper_end(ends[0]);
    unique_fd our_end(ends[1]);
    detail::spawn_helper(executable,
                         {"memshare-reaper", "--creator", std::to_string(::getpid())},
                         {reaper_end.get(), -1, -1},
                         "memshare-reaper removes tracked segments when their creator "
                         "ends (use track=False to do without)");
    return our_end;
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
