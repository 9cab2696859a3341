// memshare-courier: keeps the descriptors a process offers until the
// processes they are sent to take them (see courier.hpp).
//
// Descriptor 0 is a socket to the process that started it; descriptor 3 is
// a listening socket that receivers connect to.  It serves while that
// process runs, and for a while after it ends, until every offer is taken.
#include "courier_protocol.hpp"
#include "descriptor_passing.hpp"

#include <memshare/unique_fd.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>

namespace {

using memshare::detail::courier_token;
using clock_type = std::chrono::steady_clock;

constexpr int creator = 0;
constexpr int listener = 3;

// Out of the creator's process tree (see reaper/main.cpp), and with as much
// room for descriptors as the hard limit allows.
void detach() {
    for (const int signal : {SIGINT, SIGQUIT, SIGHUP, SIGPIPE, SIGTSTP}) {
        ::signal(signal, SIG_IGN);
    }
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    if (::fork() != 0) {
        ::_exit(0);
    }
}

void answer(int socket, std::uint8_t reply, int fd) {
    memshare::detail::send_with_descriptor(socket, &reply, 1, fd);
}

// Takes an offer from the creator.  False at end-of-file: the creator ended.
bool take_offer(std::map<courier_token, memshare::unique_fd>& offers) {
    courier_token token{};
    const auto got =
        memshare::detail::receive_with_descriptor(creator, token.data(), token.size());
    memshare::unique_fd fd(got.fd);
    if (got.size == 0 || (got.size < 0 && errno != EINTR)) {
        return false;
    }
    if (got.size != static_cast<ssize_t>(token.size()) || !fd) {
        // Truncated: no room here for the descriptor.
        answer(creator, memshare::detail::courier_refused, -1);
        return true;
    }
    offers.try_emplace(token, std::move(fd));
    answer(creator, memshare::detail::courier_ok, -1);
    return true;
}

bool read_token(int socket, courier_token& token) {
    std::size_t have = 0;
    while (have < token.size()) {
        pollfd ready{socket, POLLIN, 0};
        if (::poll(&ready, 1, 1000) <= 0) {
            return false; // a receiver that says nothing is not waited for
        }
        const ssize_t n = ::read(socket, token.data() + have, token.size() - have);
        if (n <= 0) {
            return false;
        }
        have += static_cast<std::size_t>(n);
    }
    return true;
}

// Serves one receiver: the descriptor of its token, once, to its own user.
void serve(std::map<courier_token, memshare::unique_fd>& offers) {
    const int socket = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (socket < 0) {
        return;
    }
    ucred peer{};
    socklen_t size = sizeof peer;
    courier_token token{};
    const bool trusted =
        ::getsockopt(socket, SOL_SOCKET, SO_PEERCRED, &peer, &size) == 0 &&
        (peer.uid == ::getuid() || peer.uid == 0);
    if (trusted && read_token(socket, token)) {
        const auto offer = offers.find(token);
        if (offer != offers.end()) {
            answer(socket, memshare::detail::courier_ok, offer->second.get());
            offers.erase(offer);
        } else {
            answer(socket, memshare::detail::courier_unknown, -1);
        }
    }
    ::close(socket);
}

} // namespace

int main() {
    detach();
    std::map<courier_token, memshare::unique_fd> offers;
    bool creator_alive = true;
    clock_type::time_point deadline{};
    while (creator_alive || !offers.empty()) {
        std::array<pollfd, 2> ready{{{listener, POLLIN, 0}, {creator, POLLIN, 0}}};
        int timeout = -1;
        if (!creator_alive) {
            const auto left = deadline - clock_type::now();
            if (left <= clock_type::duration::zero()) {
                break; // nobody took them in time
            }
            timeout = static_cast<int>(
                std::chrono::duration_cast<std::chrono::milliseconds>(left).count() +
                1);
        }
        const int events = ::poll(ready.data(), creator_alive ? 2 : 1, timeout);
        if (events < 0 && errno != EINTR) {
            break;
        }
        if ((ready[0].revents & POLLIN) != 0) {
            serve(offers);
        }
        if (creator_alive && ready[1].revents != 0 && !take_offer(offers)) {
            creator_alive = false;
            deadline = clock_type::now() +
                       std::chrono::seconds(memshare::detail::courier_linger_seconds);
        }
    }
    return 0;
}
