#include "courier_protocol.hpp"
#include "descriptor_passing.hpp"
#include "files.hpp"
#include "helper_process.hpp"

#include <memshare/courier.hpp>
#include <memshare/error.hpp>

#include <pthread.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <span>
#include <string>

namespace memshare {
namespace {

using detail::courier_token;

// This process's end of the socket to its courier.  Never destroyed: a
// child may fork while static destructors run.
struct courier_client {
    std::mutex mutex;
    std::string executable;
    unique_fd socket;
    std::string address;
};

courier_client& client() {
    static auto* instance = new courier_client;
    return *instance;
}

void install_fork_handlers() {
    static std::once_flag once;
    std::call_once(once, [] {
        ::pthread_atfork([] { client().mutex.lock(); }, [] { client().mutex.unlock(); },
                         [] {
                             // The courier serves the parent; a child that
                             // offers starts its own.
                             courier_client& c = client();
                             c.socket.reset();
                             c.address.clear();
                             c.mutex.unlock();
                         });
    });
}

courier_token random_token() {
    courier_token token{};
    if (::getrandom(token.data(), token.size(), 0) !=
        static_cast<ssize_t>(token.size())) {
        throw_errno("getrandom");
    }
    return token;
}

// An abstract socket address: no file, gone with the last socket bound to it.
socklen_t abstract_address(const std::string& name, sockaddr_un& address) {
    address = {};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path + 1, name.data(), name.size());
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
}

// Starts this process's courier; the socket to it goes in `c`.
void start_courier(courier_client& c) {
    std::array<int, 2> ends{};
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends.data()) != 0) {
        throw_errno("socketpair");
    }
    unique_fd courier_end(ends[0]);
    unique_fd our_end(ends[1]);
    // Bound and listening before the courier starts: a receiver that comes
    // early waits in the backlog instead of finding no one there.
    unique_fd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener) {
        throw_errno("socket");
    }
    const courier_token salt = random_token();
    std::string name = "memshare-courier-" + std::to_string(::getpid()) + "-";
    for (const auto byte : std::span(salt).first(8)) {
        std::array<char, 3> hex{};
        std::snprintf(hex.data(), hex.size(), "%02x", byte);
        name += hex.data();
    }
    sockaddr_un address{};
    const socklen_t length = abstract_address(name, address);
    if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(listener.get(), SOMAXCONN) != 0) {
        throw_errno("bind", name);
    }
    detail::spawn_helper(c.executable,
                         {"memshare-courier", "--creator", std::to_string(::getpid())},
                         {courier_end.get(), -1, -1, listener.get()},
                         "memshare-courier hands anonymous shared arrays to the "
                         "processes they are sent to");
    c.socket = std::move(our_end);
    c.address = std::move(name);
}

// Sends `fd` with `token`; false if the courier is gone.
bool send_offer(courier_client& c, int fd, const courier_token& token) {
    if (detail::send_with_descriptor(c.socket.get(), token.data(), token.size(), fd) <
        0) {
        if (errno == EPIPE || errno == ECONNRESET) {
            return false;
        }
        throw_errno("sendmsg to memshare-courier");
    }
    std::uint8_t answer = 0;
    ssize_t received = 0;
    do {
        received = ::recv(c.socket.get(), &answer, 1, 0);
    } while (received < 0 && errno == EINTR);
    if (received <= 0) {
        return false;
    }
    if (answer != detail::courier_ok) {
        throw os_error(EMFILE, "offer to memshare-courier", {},
                       "the courier has reached its RLIMIT_NOFILE: too many arrays "
                       "sent are waiting to be received");
    }
    return true;
}

// Reads the courier's answer and, with it, the descriptor.
unique_fd receive_descriptor(int socket) {
    std::uint8_t answer = 0;
    const detail::received got = detail::receive_with_descriptor(socket, &answer, 1);
    unique_fd fd(got.fd);
    if (got.size < 0) {
        throw_errno("recvmsg from memshare-courier");
    }
    if (got.truncated) {
        throw os_error(EMFILE, "recvmsg from memshare-courier", {},
                       detail::descriptor_limit_hint());
    }
    if (got.size == 0 || answer != detail::courier_ok || !fd) {
        throw os_error(ENOENT, "take from memshare-courier", {},
                       "the courier has no such offer: each sending of an array can "
                       "be received once");
    }
    return fd;
}

} // namespace

void set_courier_executable(std::string path) {
    courier_client& c = client();
    const std::scoped_lock lock(c.mutex);
    c.executable = std::move(path);
}

descriptor_offer offer_descriptor(int fd) {
    install_fork_handlers();
    courier_client& c = client();
    const std::scoped_lock lock(c.mutex);
    const courier_token token = random_token();
    if (!c.socket) {
        start_courier(c);
    }
    if (!send_offer(c, fd, token)) {
        // The courier was killed: start another for this and later offers.
        start_courier(c);
        if (!send_offer(c, fd, token)) {
            throw os_error(EPIPE, "offer to memshare-courier", {},
                           "the courier ended as soon as it started");
        }
    }
    return {c.address, token};
}

unique_fd take_descriptor(const descriptor_offer& offer) {
    unique_fd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!socket) {
        const int err = errno;
        throw os_error(err, "socket", {},
                       err == EMFILE ? detail::descriptor_limit_hint() : "");
    }
    sockaddr_un address{};
    const socklen_t length = abstract_address(offer.address, address);
    int result = 0;
    do {
        result = ::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), length);
    } while (result != 0 && errno == EINTR);
    if (result != 0) {
        const int err = errno;
        throw os_error(err, "connect to memshare-courier", offer.address,
                       err == ECONNREFUSED
                           ? "the courier of the process that sent this array is gone: "
                             "it ended more than " +
                                 std::to_string(detail::courier_linger_seconds) +
                                 " s ago, or was killed"
                           : "");
    }
    ssize_t sent = 0;
    do {
        sent =
            ::send(socket.get(), offer.token.data(), offer.token.size(), MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent != static_cast<ssize_t>(offer.token.size())) {
        throw_errno("send to memshare-courier", offer.address);
    }
    return receive_descriptor(socket.get());
}

} // namespace memshare
