// memshare-reaper: removes the segments a process tracks once it ends.
//
// Started by the first tracked segment of a process (see shm/reaper.hpp) with
// one end of a socket pair as its standard input.  It reads what the
// process tracks and stops tracking; at end-of-file, the process is gone,
// and every segment still tracked is unlinked, if its name still names the
// segment that was tracked.
#include "shm/reaper_protocol.hpp"

#include <memshare/shm/shm.hpp>

#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <string>

namespace {

using memshare::detail::reaper_op;
using memshare::detail::reaper_record;

struct identity {
    std::uint64_t device;
    std::uint64_t inode;
};

// Leaves the creator's process tree: the first process exits (the creator
// waits for it) and the second lives on, the child of no one who waits for
// it.  Both are in a session of their own (posix_spawn made it), out of reach
// of the terminal's and the creator's process group's signals.
void detach() {
    for (const int signal : {SIGINT, SIGQUIT, SIGHUP, SIGPIPE, SIGTSTP}) {
        ::signal(signal, SIG_IGN);
    }
    if (::fork() != 0) {
        ::_exit(0);
    }
}

void unlink_if_same(const std::string& name, const identity& tracked) {
    try {
        const memshare::shm_name segment(name);
        struct stat st{};
        if (::stat(segment.file().c_str(), &st) == 0 && st.st_dev == tracked.device &&
            st.st_ino == tracked.inode) {
            ::shm_unlink(segment.slashed().c_str());
        }
    } catch (const std::exception&) {
        // Not a valid name: nothing of that name can exist.
    }
}

} // namespace

int main() {
    detach();
    std::map<std::string, identity> tracked;
    std::array<char, sizeof(reaper_record) + 256> message{};
    for (;;) {
        const ssize_t size = ::recv(0, message.data(), message.size(), 0);
        if (size < 0 && errno == EINTR) {
            continue;
        }
        if (size <= 0) {
            break; // end-of-file: the creator is gone
        }
        reaper_record record{};
        if (static_cast<std::size_t>(size) < sizeof record) {
            continue;
        }
        std::memcpy(&record, message.data(), sizeof record);
        if (sizeof record + record.name_length != static_cast<std::size_t>(size)) {
            continue;
        }
        std::string name(message.data() + sizeof record, record.name_length);
        if (record.op == reaper_op::track) {
            tracked[std::move(name)] = {record.device, record.inode};
        } else {
            tracked.erase(name);
        }
    }
    for (const auto& [name, segment] : tracked) {
        unlink_if_same(name, segment);
    }
    return 0;
}
