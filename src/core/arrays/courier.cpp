#include "arrays/courier_ledger.hpp"
#include "arrays/courier_protocol.hpp"
#include "arrays/descriptor_passing.hpp"
#include "base/files.hpp"
#include "base/helper_process.hpp"

#include <memshare/arrays/courier.hpp>
#include <memshare/base/blocking.hpp>
#include <memshare/base/error.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace memshare {
namespace {

using detail::courier_token;

// Connections to the couriers of the processes this one receives from,
// kept open: a connection per array would cost the courier an accept().
// The oldest is closed when there are too many.
struct courier_connections {
    static constexpr std::size_t most = 32;
    std::vector<std::pair<std::string, unique_fd>> open;

    void erase(const std::string& address) {
        std::erase_if(open, [&](const auto& entry) { return entry.first == address; });
    }
};

// The ledger slot of a segment offered to the courier.
struct registration {
    std::uint32_t slot;
    std::uint32_t generation;
};

using identity_key = std::pair<std::uint64_t, std::uint64_t>; // st_dev, st_ino

// This process's end of the socket to its courier, its ledger, and its
// connections to others.  Never destroyed: a child may fork while static
// destructors run.
struct courier_client {
    std::mutex mutex;
    std::string executable;
    unique_fd socket;
    std::string address;
    pid_t pid = 0; // of the process the courier serves (getpid() is a syscall)
    // Tokens are this random key, a slot and a generation.  They need not be
    // unguessable: the courier serves only processes of its user
    // (SO_PEERCRED), who may read /proc/PID/fd anyway.
    courier_token key{};
    detail::courier_ledger ledger;
    std::map<identity_key, registration> offered;
    courier_connections connections;
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
                             // The courier serves the parent: a child that
                             // offers starts its own.  The kept connections
                             // are the parent's too: drop them, so that no
                             // answer reaches the wrong process.
                             courier_client& c = client();
                             c.socket.reset();
                             c.address.clear();
                             c.ledger.reset();
                             c.offered.clear();
                             c.connections.open.clear();
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

constexpr std::string_view address_prefix = "memshare-courier-";
constexpr std::size_t salt_digits = 16; // 8 random bytes in hex

// An abstract socket address: no file, gone with the last socket bound to it.
socklen_t abstract_address(const std::string& name, sockaddr_un& address) {
    if (name.size() + 1 > sizeof address.sun_path) {
        throw std::invalid_argument("a courier address is at most " +
                                    std::to_string(sizeof address.sun_path - 1) +
                                    " bytes long");
    }
    address = {};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path + 1, name.data(), name.size());
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
}

// Whether `address` is what start_courier() names a courier:
// "memshare-courier-PID-SALT", SALT in lowercase hex.
bool is_courier_address(std::string_view address) {
    if (!address.starts_with(address_prefix)) {
        return false;
    }
    address.remove_prefix(address_prefix.size());
    const std::size_t dash = address.find('-');
    if (dash == 0 || dash == std::string_view::npos || dash > 10 ||
        address.size() - dash - 1 != salt_digits) {
        return false;
    }
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    const auto hex = [&](char c) { return digit(c) || (c >= 'a' && c <= 'f'); };
    return std::all_of(address.begin(), address.begin() + dash, digit) &&
           std::all_of(address.begin() + dash + 1, address.end(), hex);
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
    unique_fd listener(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!listener) {
        throw_errno("socket");
    }
    const courier_token salt = random_token();
    const unique_fd ledger = detail::courier_ledger::create();
    std::string name = std::string(address_prefix) + std::to_string(::getpid()) + "-";
    for (const auto byte : std::span(salt).first(salt_digits / 2)) {
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
                         {courier_end.get(), -1, -1, listener.get(), ledger.get()},
                         "memshare-courier hands anonymous shared arrays to the "
                         "processes they are sent to");
    c.socket = std::move(our_end);
    c.address = std::move(name);
    c.pid = ::getpid();
    c.key = random_token();
    c.ledger = detail::courier_ledger(ledger.get());
    c.offered.clear();
}

courier_token token_of(const courier_client& c, const registration& made) {
    return detail::token_of(c.key, made.slot, made.generation);
}

// The lowest free slot of the ledger, taken, with this first send counted.
registration take_slot(courier_client& c) {
    for (std::uint32_t slot = 0; slot < detail::ledger_slots; ++slot) {
        detail::ledger_slot& entry = c.ledger[slot];
        if (entry.state.load(std::memory_order_acquire) == detail::slot_free) {
            const std::uint32_t generation =
                entry.generation.load(std::memory_order_relaxed) + 1;
            entry.generation.store(generation, std::memory_order_relaxed);
            entry.sends.store(1, std::memory_order_relaxed);
            entry.state.store(detail::slot_offered, std::memory_order_release);
            return {slot, generation};
        }
    }
    throw os_error(ENOSPC, "offer to memshare-courier", {},
                   "more than " + std::to_string(detail::ledger_slots) +
                       " anonymous shared arrays this process sent are still held");
}

// Whether the courier still holds the segment `made` names: it gives the
// slot back if it refused the offer.
bool still_offered(const courier_client& c, const registration& made) {
    const detail::ledger_slot& entry = c.ledger[made.slot];
    return entry.state.load(std::memory_order_acquire) == detail::slot_offered &&
           entry.generation.load(std::memory_order_relaxed) == made.generation;
}

// Sends `fd` under the token of `made`; false if the courier is gone.
bool send_offer(courier_client& c, int fd, const registration& made) {
    const detail::courier_request request{detail::courier_offer, token_of(c, made)};
    if (detail::send_with_descriptor(c.socket.get(), &request, sizeof request, fd) >=
        0) {
        return true;
    }
    const int err = errno;
    if (err == EPIPE || err == ECONNRESET) {
        return false;
    }
    // Descriptors in flight count against the sender's RLIMIT_NOFILE.
    throw os_error(err, "sendmsg to memshare-courier", {},
                   err == ETOOMANYREFS
                       ? "too many arrays sent at once are in flight to "
                         "the courier: " +
                             detail::descriptor_limit_hint()
                       : "");
}

// Offers `fd` to the courier under a new slot, with its first send counted.
registration offer_segment(courier_client& c, int fd) {
    registration made = take_slot(c);
    if (!send_offer(c, fd, made)) {
        // The courier was killed: start another for this and later offers.
        start_courier(c);
        made = take_slot(c);
        if (!send_offer(c, fd, made)) {
            throw os_error(EPIPE, "offer to memshare-courier", {},
                           "the courier ended as soon as it started");
        }
    }
    return made;
}

// A socket connected to the courier at `address`, or an empty one (errno
// says why).
unique_fd connect_to(const std::string& address) {
    unique_fd socket(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!socket) {
        const int err = errno;
        throw os_error(err, "socket", {},
                       err == EMFILE ? detail::descriptor_limit_hint() : "");
    }
    sockaddr_un where{};
    const socklen_t length = abstract_address(address, where);
    int result = 0;
    do {
        result = ::connect(socket.get(), reinterpret_cast<sockaddr*>(&where), length);
    } while (result != 0 && errno == EINTR);
    if (result != 0) {
        const int err = errno;
        socket.reset();
        errno = err; // for the caller to report
    }
    return socket;
}

bool send_request(int socket, std::uint8_t verb, const courier_token& token) {
    detail::courier_request request{verb, token};
    ssize_t sent = 0;
    do {
        sent = ::send(socket, &request, sizeof request, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent == static_cast<ssize_t>(sizeof request);
}

bool is_memory(const struct stat& st, const file_identity& expected) {
    return st.st_dev == expected.device && st.st_ino == expected.inode;
}

// The sender's own descriptor, through /proc, if it still has it.
unique_fd reopen(const descriptor_offer& offer, const file_identity& expected,
                 std::uint64_t size) {
    const std::string path =
        "/proc/" + std::to_string(offer.pid) + "/fd/" + std::to_string(offer.fd);
    unique_fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd) {
        const int err = errno;
        if (err == EMFILE || err == ENFILE) {
            throw os_error(err, "open", path, detail::descriptor_limit_hint());
        }
        return {}; // the sender is gone, or closed it, or may not be read
    }
    const struct stat st = detail::stat_of(fd.get(), path);
    if (!is_memory(st, expected)) {
        return {}; // the number was reused for something else
    }
    detail::check_size(st, size, path);
    return fd;
}

// Reads the courier's answer and, with it, the descriptor, which takes the
// place of `room`.
unique_fd receive_descriptor(int socket, unique_fd room) {
    room.reset();
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
    if (got.size > 0 && answer == detail::courier_refused) {
        throw os_error(EMFILE, "take from memshare-courier", {},
                       "the sender's courier had reached its RLIMIT_NOFILE when the "
                       "array was sent, and the sender no longer holds it: too many "
                       "arrays sent were waiting to be received");
    }
    if (got.size == 0 || answer != detail::courier_ok || !fd) {
        throw os_error(ENOENT, "take from memshare-courier", {},
                       "the courier has no such offer: each sending of an array can "
                       "be received once");
    }
    return fd;
}

// The kept connection to the courier at `address`, opened if need be; -1 if
// that courier is gone (errno says why).
int connection_to(courier_connections& connections, const std::string& address) {
    for (const auto& [where, socket] : connections.open) {
        if (where == address) {
            return socket.get();
        }
    }
    unique_fd socket = connect_to(address);
    if (!socket) {
        return -1;
    }
    if (connections.open.size() == courier_connections::most) {
        connections.open.erase(connections.open.begin());
    }
    return connections.open.emplace_back(address, std::move(socket)).second.get();
}

// Tells the courier at `address` that the offer `token` was received
// another way, so that it may drop its copy.  Best effort: a courier that
// does not hear it drops the copy once its process has ended.
void tell_done(courier_connections& connections, const std::string& address,
               const courier_token& token) {
    const int socket = connection_to(connections, address);
    if (socket >= 0 && !send_request(socket, detail::courier_done, token)) {
        connections.erase(address); // closed: the next one reconnects
    }
}

// On a connection of its own, which the courier serves as soon as it comes
// (the kept ones, which only say "done", it reads when it gets round to it).
unique_fd take_from_courier(const descriptor_offer& offer,
                            const file_identity& expected, std::uint64_t size) {
    const unique_fd socket = connect_to(offer.address);
    // The courier lets go of its copy once it has sent it, and a descriptor
    // the kernel finds no room for is dropped on arrival: make room before
    // asking, so that running out of descriptors loses nothing (the caller
    // may free some and ask again).
    unique_fd room(socket ? ::fcntl(socket.get(), F_DUPFD_CLOEXEC, 0) : -1);
    if (socket && !room) {
        const int err = errno;
        throw os_error(err, "take from memshare-courier", offer.address,
                       err == EMFILE ? detail::descriptor_limit_hint() : "");
    }
    if (!socket || !send_request(socket.get(), detail::courier_take, offer.token)) {
        const int err = errno;
        throw os_error(err, "connect to memshare-courier", offer.address,
                       err == ECONNREFUSED
                           ? "the courier of the process that sent this array is gone: "
                             "it ended more than " +
                                 std::to_string(detail::courier_linger_seconds) +
                                 " s ago, or was killed"
                           : "");
    }
    unique_fd fd = receive_descriptor(socket.get(), std::move(room));
    const struct stat st = detail::stat_of(fd.get(), offer.address);
    if (!is_memory(st, expected)) {
        throw os_error(ESTALE, "take from memshare-courier", offer.address,
                       "the courier handed out other memory than the array was "
                       "sent with");
    }
    detail::check_size(st, size, "from " + offer.address);
    return fd;
}

} // namespace

void check_offer(const descriptor_offer& offer, bool with_sender) {
    if (!is_courier_address(offer.address)) {
        throw std::invalid_argument("a shared array's handle is damaged: its courier "
                                    "address is not one memshare makes");
    }
    if (with_sender && (offer.pid <= 0 || offer.fd < 0)) {
        throw std::invalid_argument("a shared array's handle is damaged: it names "
                                    "process " +
                                    std::to_string(offer.pid) + " and descriptor " +
                                    std::to_string(offer.fd));
    }
}

void set_courier_executable(std::string path) {
    courier_client& c = client();
    const std::scoped_lock lock(c.mutex);
    c.executable = std::move(path);
}

descriptor_offer offer_descriptor(int fd, const file_identity& identity) {
    install_fork_handlers();
    courier_client& c = client();
    // Called with the GIL held: sending a segment again touches only the
    // ledger, while anything that may wait (for the lock, or starting and
    // writing to the courier) runs without it, so that no thread waits for
    // the lock while holding the GIL.
    std::unique_lock lock(c.mutex, std::try_to_lock);
    if (!lock) {
        run_blocking([&] { lock.lock(); });
    }
    const identity_key key{identity.device, identity.inode};
    const auto found = c.offered.find(key);
    registration made{};
    if (c.socket && found != c.offered.end() && still_offered(c, found->second)) {
        made = found->second;
        c.ledger[made.slot].sends.fetch_add(1, std::memory_order_release);
    } else {
        run_blocking([&] {
            if (!c.socket) {
                start_courier(c);
            }
            made = offer_segment(c, fd);
        });
        c.offered.insert_or_assign(key, made);
    }
    return {c.address, token_of(c, made), c.pid, fd};
}

void withdraw_offers(const file_identity& identity) {
    courier_client& c = client();
    // With the GIL, as offer_descriptor: most memory let go of was never
    // offered, and there is nothing to wait for.
    std::unique_lock lock(c.mutex, std::try_to_lock);
    if (!lock) {
        run_blocking([&] { lock.lock(); });
    }
    const auto found = c.offered.find({identity.device, identity.inode});
    if (found == c.offered.end()) {
        return;
    }
    const courier_token token = token_of(c, found->second);
    c.offered.erase(found);
    run_blocking([&] {
        // A courier that is gone has dropped everything anyway.
        static_cast<void>(
            send_request(c.socket.get(), detail::courier_withdraw, token));
    });
}

unique_fd take_descriptor(const descriptor_offer& offer, const file_identity& expected,
                          std::uint64_t size) {
    check_offer(offer, true);
    install_fork_handlers();
    courier_client& c = client();
    const std::scoped_lock lock(c.mutex);
    unique_fd fd = reopen(offer, expected, size);
    if (!fd) {
        return take_from_courier(offer, expected, size);
    }
    tell_done(c.connections, offer.address, offer.token);
    return fd;
}

void release_offer(const descriptor_offer& offer) {
    check_offer(offer, false);
    install_fork_handlers();
    courier_client& c = client();
    const std::scoped_lock lock(c.mutex);
    tell_done(c.connections, offer.address, offer.token);
}

} // namespace memshare
