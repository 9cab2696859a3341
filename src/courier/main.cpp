// memshare-courier: keeps the descriptors a process offers until the
// processes they are sent to have received them (see arrays/courier.hpp).
//
// Descriptor 0 is a socket to the process that started it; descriptor 3 is
// a listening socket that receivers connect to; descriptor 4 is the ledger
// the process counts its sends in.  It serves while that process runs, and
// for a while after it ends, until every handle sent is received.
#include "arrays/courier_ledger.hpp"
#include "arrays/courier_protocol.hpp"
#include "arrays/descriptor_passing.hpp"

#include <memshare/base/unique_fd.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
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
constexpr int ledger_fd = 4;

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

// A segment offered: the copy of its descriptor, how many handles of it
// were received, and whether the process let go of it.
struct held_segment {
    memshare::unique_fd fd;
    std::uint64_t receipts = 0;
    bool withdrawn = false;
};

struct courier {
    memshare::detail::courier_ledger ledger{ledger_fd};
    std::map<courier_token, held_segment> offers;
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
        std::erase_if(offers,
                      [&](const auto& offer) { return give_back_if_finished(offer); });
    }

    // Whether nobody needs the copy of `offer` any more: its process let go
    // of it (or ended) and every handle it sent was received.  If so, its
    // ledger slot goes back to the process, and the caller drops the copy.
    [[nodiscard]] bool
    give_back_if_finished(const std::pair<const courier_token, held_segment>& offer) {
        const auto& [token, held] = offer;
        if (!held.withdrawn && creator_alive) {
            return false;
        }
        memshare::detail::ledger_slot& slot = ledger[memshare::detail::slot_of(token)];
        if (held.receipts < slot.sends.load(std::memory_order_acquire)) {
            return false;
        }
        slot.state.store(memshare::detail::slot_free, std::memory_order_release);
        return true;
    }

    void drop_if_finished(std::map<courier_token, held_segment>::iterator offer) {
        if (give_back_if_finished(*offer)) {
            offers.erase(offer);
        }
    }

    // Takes one request from the creator; false if none is waiting.
    bool take_offer() {
        memshare::detail::courier_request request{};
        const auto got = memshare::detail::receive_with_descriptor(
            creator, &request, sizeof request, MSG_DONTWAIT);
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
        if (got.size != static_cast<ssize_t>(sizeof request) ||
            memshare::detail::slot_of(request.token) ==
                memshare::detail::ledger_slots) {
            return true; // not a request
        }
        if (request.verb == memshare::detail::courier_withdraw) {
            withdraw(request.token);
        } else if (!fd) {
            // Truncated: no room here for the descriptor.  The slot goes
            // back, so that the process offers the segment anew.
            refuse(request.token);
            ledger[memshare::detail::slot_of(request.token)].state.store(
                memshare::detail::slot_free, std::memory_order_release);
        } else {
            offers.try_emplace(request.token, held_segment{std::move(fd)});
        }
        return true;
    }

    // Every request the creator has sent: a receiver may ask for an offer
    // the creator sent before the receiver knew its token, but that this
    // loop has not read yet.
    void take_waiting_offers() {
        while (creator_alive && take_offer()) {
        }
    }

    // The offer `token`, reading the creator's requests if it is not known yet.
    std::map<courier_token, held_segment>::iterator find(const courier_token& token) {
        auto offer = offers.find(token);
        if (offer == offers.end()) {
            take_waiting_offers();
            offer = offers.find(token);
        }
        return offer;
    }

    void withdraw(const courier_token& token) {
        const auto offer = offers.find(token);
        if (offer != offers.end()) {
            offer->second.withdrawn = true;
            drop_if_finished(offer);
        }
    }

    void take(int socket, const courier_token& token) {
        // A withdrawal read first: the copy may go with this receipt.
        take_waiting_offers();
        const auto offer = offers.find(token);
        if (offer != offers.end()) {
            answer(socket, memshare::detail::courier_ok, offer->second.fd.get());
            ++offer->second.receipts;
            drop_if_finished(offer);
        } else {
            answer(socket,
                   refused.contains(token) ? memshare::detail::courier_refused
                                           : memshare::detail::courier_unknown,
                   -1);
        }
    }

    void done(const courier_token& token) {
        const auto offer = find(token);
        if (offer != offers.end()) {
            ++offer->second.receipts;
            drop_if_finished(offer);
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
