// memshare-courier: keeps the descriptors a process offers until the
// processes they are sent to take them (see courier.hpp).
//
// Descriptor 0 is a socket to the process that started it; descriptor 3 is
// a listening socket that receivers connect to.  It serves while that
// process runs, and for a while after it ends, until every offer is taken.
#include "courier_protocol.hpp"
#include "descriptor_passing.hpp"

#include <memshare/unique_fd.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <vector>

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
    // Connections are accepted until none is left (see main).
    ::fcntl(listener, F_SETFL, ::fcntl(listener, F_GETFL) | O_NONBLOCK);
}

void answer(int socket, std::uint8_t reply, int fd) {
    memshare::detail::send_with_descriptor(socket, &reply, 1, fd);
}

struct courier {
    std::map<courier_token, memshare::unique_fd> offers;
    // Tokens offered when there was no room for the descriptor, oldest
    // first, so that a receiver learns why it gets nothing.
    std::set<courier_token> refused;
    std::deque<courier_token> refused_order;
    // Connections from receivers, of this courier's own user, kept open
    // for all the requests a receiver makes.
    std::vector<memshare::unique_fd> receivers;
    bool creator_alive = true;
    clock_type::time_point deadline{};

    void refuse(const courier_token& token) {
        if (refused.insert(token).second) {
            refused_order.push_back(token);
        }
        if (refused_order.size() > memshare::detail::courier_refusals_kept) {
            refused.erase(refused_order.front());
            refused_order.pop_front();
        }
    }

    void creator_ended() {
        creator_alive = false;
        deadline = clock_type::now() +
                   std::chrono::seconds(memshare::detail::courier_linger_seconds);
    }

    // Takes one offer from the creator; false if none is waiting.
    bool take_offer() {
        courier_token token{};
        const auto got = memshare::detail::receive_with_descriptor(
            creator, token.data(), token.size(), MSG_DONTWAIT);
        memshare::unique_fd fd(got.fd);
        if (got.size < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                creator_ended();
            }
            return false;
        }
        if (got.size == 0) {
            creator_ended();
            return false;
        }
        if (got.size != static_cast<ssize_t>(token.size()) || !fd) {
            refuse(token); // truncated: no room here for the descriptor
        } else {
            offers.try_emplace(token, std::move(fd));
        }
        return true;
    }

    // Every offer the creator has sent: a receiver may ask for one the
    // creator sent before the receiver knew its token, but that this loop
    // has not read yet.
    void take_waiting_offers() {
        while (creator_alive && take_offer()) {
        }
    }

    void take(int socket, const courier_token& token) {
        auto offer = offers.find(token);
        if (offer == offers.end()) {
            take_waiting_offers();
            offer = offers.find(token);
        }
        if (offer != offers.end()) {
            answer(socket, memshare::detail::courier_ok, offer->second.get());
            offers.erase(offer);
        } else {
            answer(socket,
                   refused.contains(token) ? memshare::detail::courier_refused
                                           : memshare::detail::courier_unknown,
                   -1);
        }
    }

    void done(const courier_token& token) {
        if (offers.erase(token) == 0) {
            take_waiting_offers();
            offers.erase(token);
        }
    }

    // Accepts new connections and serves their first request at once: a
    // take comes on a connection of its own, and its receiver waits.
    void accept_receivers() {
        while (true) {
            memshare::unique_fd socket(
                ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
            if (!socket) {
                return;
            }
            ucred peer{};
            socklen_t size = sizeof peer;
            pollfd first{socket.get(), POLLIN, 0};
            if (::getsockopt(socket.get(), SOL_SOCKET, SO_PEERCRED, &peer, &size) ==
                    0 &&
                (peer.uid == ::getuid() || peer.uid == 0) &&
                ::poll(&first, 1, 1000) > 0 && serve(socket.get())) {
                receivers.push_back(std::move(socket));
            }
        }
    }

    // Serves the requests waiting on `socket`; false once it is closed.
    bool serve(int socket) {
        while (true) {
            memshare::detail::courier_request request{};
            const ssize_t got = ::recv(socket, &request, sizeof request, MSG_DONTWAIT);
            if (got < 0) {
                return errno == EAGAIN || errno == EINTR;
            }
            if (got != static_cast<ssize_t>(sizeof request)) {
                return false; // closed, or not a request
            }
            if (request.verb == memshare::detail::courier_take) {
                take(socket, request.token);
            } else if (request.verb == memshare::detail::courier_done) {
                done(request.token);
            }
        }
    }

    // Offers and "done"s are not urgent (a descriptor in flight outlives
    // its sender): they are read at most once an interval, so that a busy
    // process does not pay for waking the courier at every hand-off.
    clock_type::time_point next_batch{};

    void serve_batch() {
        take_waiting_offers();
        std::erase_if(receivers, [&](const memshare::unique_fd& socket) {
            return !serve(socket.get());
        });
        next_batch = clock_type::now() + memshare::detail::courier_batch_interval;
    }

    // What to wait on: the listener, and, once the interval is over, the
    // creator while it lives and every receiver.
    std::vector<pollfd> waiting(bool batch_due) const {
        std::vector<pollfd> ready{{listener, POLLIN, 0}};
        if (!batch_due) {
            return ready;
        }
        if (creator_alive) {
            ready.push_back({creator, POLLIN, 0});
        }
        for (const auto& socket : receivers) {
            ready.push_back({socket.get(), POLLIN, 0});
        }
        return ready;
    }
};

} // namespace

// Milliseconds until `when`, rounded up; -1 (forever) for a time not set.
int milliseconds_until(clock_type::time_point when) {
    const auto left = when - clock_type::now();
    if (when == clock_type::time_point{}) {
        return -1;
    }
    return static_cast<int>(std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(left).count() + 1));
}

int main() {
    detach();
    courier state;
    while (state.creator_alive || !state.offers.empty()) {
        if (!state.creator_alive && clock_type::now() >= state.deadline) {
            break; // nobody took them in time
        }
        const bool batch_due = clock_type::now() >= state.next_batch;
        std::vector<pollfd> ready = state.waiting(batch_due);
        int timeout = batch_due ? -1 : milliseconds_until(state.next_batch);
        if (!state.creator_alive) {
            const int linger = milliseconds_until(state.deadline);
            timeout = timeout < 0 ? linger : std::min(timeout, linger);
        }
        if (::poll(ready.data(), ready.size(), timeout) < 0 && errno != EINTR) {
            break;
        }
        if ((ready[0].revents & POLLIN) != 0) {
            state.accept_receivers();
        }
        if (clock_type::now() >= state.next_batch) {
            state.serve_batch();
        }
    }
    return 0;
}
