#include <memshare/base/error.hpp>
#include <memshare/base/unique_fd.hpp>

#include <fcntl.h>
#include <unistd.h>

namespace memshare {

unique_fd unique_fd::duplicate(int fd, const std::string& target) {
    const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) {
        throw_errno("dup(" + std::to_string(fd) + ")", target);
    }
    return unique_fd(copy);
}

void unique_fd::reset(int fd) noexcept {
    if (fd_ >= 0) {
        // Linux releases the descriptor even when close() fails (EINTR
        // included), so there is nothing to retry and nothing to report.
        ::close(fd_);
    }
    fd_ = fd;
}

} // namespace memshare
