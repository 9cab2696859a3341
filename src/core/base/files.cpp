#include "base/files.hpp"

#include <memshare/base/error.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <stdexcept>

namespace memshare::detail {

struct stat stat_of(int fd, const std::string& target) {
    struct stat st{};
    if (::fstat(fd, &st) != 0) {
        throw_errno("fstat", target);
    }
    return st;
}

std::string file_kind(mode_t mode) {
    switch (mode & S_IFMT) {
    case S_IFREG:
        return "a regular file";
    case S_IFDIR:
        return "a directory";
    case S_IFIFO:
        return "a FIFO";
    case S_IFCHR:
        return "a character device";
    case S_IFBLK:
        return "a block device";
    case S_IFSOCK:
        return "a socket";
    case S_IFLNK:
        return "a symbolic link";
    default:
        return "a file of unknown kind";
    }
}

void check_size(const struct stat& st, std::uint64_t size, const std::string& target) {
    if (static_cast<std::uint64_t>(st.st_size) < size) {
        throw std::invalid_argument("the shared memory " + target + " has " +
                                    std::to_string(st.st_size) +
                                    " bytes, fewer than the " + std::to_string(size) +
                                    " its handle names: the handle is damaged");
    }
}

std::string path_of(int fd) {
    std::array<char, 4096> path{};
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t n = ::readlink(link.c_str(), path.data(), path.size() - 1);
    return n > 0 ? std::string(path.data(), static_cast<std::size_t>(n))
                 : "fd " + std::to_string(fd);
}

std::string descriptor_limit_hint() {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    return "this process has reached RLIMIT_NOFILE, " + std::to_string(limit.rlim_cur) +
           " descriptors; each live anonymous shared array holds one";
}

} // namespace memshare::detail
