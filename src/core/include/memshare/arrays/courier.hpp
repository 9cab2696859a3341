// Handing descriptors to processes that ask for them later, even after the
// process that offered them has ended.
//
// Anonymous shared memory (a memfd) reaches another process only as a
// descriptor, passed over a Unix socket.  The process that sends an array
// may end before the receiver takes it (a worker that returns a result and
// exits), so the descriptor is given to a courier: a helper process,
// memshare-courier, started by the first offer of each process, in a session
// of its own.  It keeps each descriptor under a random token until someone
// takes it with that token, and serves for a while after its process ends.
//
// While the sender lives, the receiver does without the courier: it opens
// the sender's descriptor through /proc/PID/fd (as the sender's user may),
// checks that it is the same memory, and tells the courier it got it.  The
// courier keeps one copy per segment until the sender let go of it and
// every handle sent was received (courier_ledger.hpp): sending a segment
// again costs no system call, and receiving it one open(); no round trip to
// wait for.
#pragma once

#include <memshare/base/unique_fd.hpp>
#include <memshare/shm/shm.hpp>

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>

namespace memshare {

struct descriptor_offer {
    std::string address;                // the courier's (abstract) socket
    std::array<std::uint8_t, 16> token; // random: the key to the descriptor
    pid_t pid;                          // the sender, and
    int fd;                             // its descriptor of the memory
};

// Refuses (std::invalid_argument) an offer that no memshare process could
// have made, before any of it reaches a path, a socket address or /proc;
// `with_sender` checks the sender's pid and descriptor too.
void check_offer(const descriptor_offer& offer, bool with_sender);

// Where the memshare-courier executable is; set once, before offering.
void set_courier_executable(std::string path);

// An offer of `fd`, of the memory `identity`, to be sent to another process:
// the first gives the courier of this process a duplicate of `fd`, later
// ones of the same memory are counted in the ledger it shares with the
// courier (no system call).
[[nodiscard]] descriptor_offer offer_descriptor(int fd, const file_identity& identity);

// This process let go of the memory `identity`: its courier may drop its
// copy once every offer of it has been taken.
void withdraw_offers(const file_identity& identity);

// Takes the descriptor offered as `offer`, of the memory `expected` of at
// least `size` bytes, from any process.
[[nodiscard]] unique_fd take_descriptor(const descriptor_offer& offer,
                                        const file_identity& expected,
                                        std::uint64_t size);

// Tells the courier that `offer` will not be taken: the receiver has that
// memory already.
void release_offer(const descriptor_offer& offer);

} // namespace memshare
