// Sending a descriptor with a few bytes over a Unix socket (SCM_RIGHTS).
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace memshare::detail {

// sendmsg() of `size` bytes with `fd` attached (none if fd < 0); retries on
// EINTR and never raises SIGPIPE.  Returns what sendmsg() returns.
ssize_t send_with_descriptor(int socket, const void* data, std::size_t size, int fd);

struct received {
    ssize_t size;   // what recvmsg() returned
    int fd;         // the descriptor attached, close-on-exec, or -1
    bool truncated; // MSG_CTRUNC: no room in this process for a descriptor
};

// recvmsg() of up to `size` bytes and a descriptor, with `flags` (such as
// MSG_DONTWAIT); retries on EINTR.
received receive_with_descriptor(int socket, void* data, std::size_t size,
                                 int flags = 0);

} // namespace memshare::detail
