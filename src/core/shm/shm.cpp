#include "base/files.hpp"
#include "base/linux_abi.hpp"

#include <memshare/base/blocking.hpp>
#include <memshare/base/error.hpp>
#include <memshare/base/page.hpp>
#include <memshare/shm/reaper.hpp>
#include <memshare/shm/segment_record.hpp>
#include <memshare/shm/shm.hpp>

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <stdexcept>

namespace memshare {
namespace {

// A name as Python would write it, with unprintable bytes escaped.
std::string quoted(std::string_view name) {
    std::string text = "'";
    for (const char c : name) {
        if (c >= 0x20 && c < 0x7f) {
            text += c;
        } else {
            std::array<char, 5> escaped{};
            std::snprintf(escaped.data(), escaped.size(), "\\x%02x",
                          static_cast<unsigned char>(c));
            text += escaped.data();
        }
    }
    return text + "'";
}

[[noreturn]] void bad_name(std::string_view name, const std::string& why) {
    throw std::invalid_argument("invalid shared memory name " + quoted(name) + ": " +
                                why);
}

std::string not_memory(const shm_name& name, const struct stat& st) {
    return name.file() + " is " + detail::file_kind(st.st_mode) +
           ", not a shared memory object";
}

std::string space_hint(std::int64_t bytes) {
    struct statvfs fs{};
    if (::statvfs(std::string(shm_directory).c_str(), &fs) != 0) {
        return {};
    }
    return "asked for " + format_bytes(static_cast<std::size_t>(bytes)) + "; " +
           std::string(shm_directory) + " has " +
           format_bytes(fs.f_bavail * fs.f_frsize) + " free of " +
           format_bytes(fs.f_blocks * fs.f_frsize);
}

} // namespace

shm_name::shm_name(std::string_view name) {
    const std::string_view given = name;
    if (name.starts_with('/')) {
        name.remove_prefix(1);
    }
    if (name.empty()) {
        bad_name(given, "it is empty");
    }
    if (name.find('/') != std::string_view::npos) {
        bad_name(given, "it holds a '/' after the first character");
    }
    if (name.find('\0') != std::string_view::npos) {
        bad_name(given, "it holds a NUL character");
    }
    if (name == "." || name == "..") {
        bad_name(given, "'.' and '..' name directories");
    }
    if (name.size() > NAME_MAX) {
        bad_name(given,
                 "it is longer than NAME_MAX, " + std::to_string(NAME_MAX) + " bytes");
    }
    bare_ = name;
}

shm_name shm_name::random() {
    std::array<unsigned char, 6> bytes{};
    if (::getrandom(bytes.data(), bytes.size(), 0) !=
        static_cast<ssize_t>(bytes.size())) {
        throw_errno("getrandom");
    }
    std::string name = "ms_";
    for (const unsigned char byte : bytes) {
        std::array<char, 3> hex{};
        std::snprintf(hex.data(), hex.size(), "%02x", byte);
        name += hex.data();
    }
    return shm_name(name);
}

std::string shm_name::file() const {
    return std::string(shm_directory) + "/" + bare_;
}

unique_fd shm_open(const shm_name& name, int flags, mode_t mode) {
    // O_NONBLOCK: a FIFO put under the name would block open(O_RDONLY) until
    // a writer came; O_NOFOLLOW: a symbolic link could point anywhere.
    unique_fd fd(::shm_open(name.slashed().c_str(),
                            flags | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW, mode));
    if (!fd) {
        const int err = errno;
        // glibc turns EISDIR into EINVAL, and ELOOP says nothing of a link:
        // name what is there instead.
        struct stat st{};
        const bool odd = (err == EINVAL || err == ELOOP) &&
                         ::lstat(name.file().c_str(), &st) == 0 && !S_ISREG(st.st_mode);
        throw os_error(err, "shm_open", name.bare(), odd ? not_memory(name, st) : "");
    }
    const struct stat st = detail::stat_of(fd.get(), name.bare());
    if (!S_ISREG(st.st_mode)) {
        throw os_error(ENODEV, "shm_open", name.bare(), not_memory(name, st));
    }
    return fd;
}

void shm_unlink(const shm_name& name) {
    const int result = ::shm_unlink(name.slashed().c_str());
    const int err = errno;
    // Whoever removed it, the reaper must not act on the name any more.
    untrack_segment(name);
    if (result != 0) {
        throw os_error(err, "shm_unlink", name.bare());
    }
}

unique_fd create_segment(const shm_name& name, const segment_options& options) {
    if (options.size <= 0) {
        throw std::invalid_argument("size must be positive, not " +
                                    std::to_string(options.size));
    }
    unique_fd fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, options.mode);
    // The name exists from here on: remove it again if a later step fails.
    try {
        if (::fchmod(fd.get(), options.mode) != 0) {
            throw_errno("fchmod", name.bare());
        }
        if (options.reserve) {
            reserve(fd.get(), 0, options.size, name.bare());
        } else if (::ftruncate(fd.get(), options.size) != 0) {
            throw_errno("ftruncate", name.bare());
        }
        write_record(fd.get(), segment_record::now(options.track));
        if (options.track) {
            track_segment(name, fd.get());
        }
    } catch (...) {
        ::shm_unlink(name.slashed().c_str());
        throw;
    }
    return fd;
}

unique_fd open_segment(const shm_name& name, bool readonly) {
    return shm_open(name, readonly ? O_RDONLY : O_RDWR, 0);
}

void reserve(int fd, std::int64_t from, std::int64_t to, const std::string& target) {
    if (to <= from) {
        return;
    }
    int result = 0;
    // tmpfs allocates and zeroes every page: about 0.3 s per GiB.
    run_blocking([&] {
        do {
            result = ::fallocate(fd, 0, from, to - from);
        } while (result != 0 && errno == EINTR);
    });
    if (result != 0) {
        const int err = errno;
        throw os_error(err, "fallocate", target,
                       err == ENOSPC ? space_hint(to - from) : std::string());
    }
}

void resize_segment(int fd, std::int64_t size, bool reserve_growth,
                    const std::string& target) {
    const struct stat st = detail::stat_of(fd, target);
    if (reserve_growth && size > st.st_size) {
        reserve(fd, st.st_size, size, target); // fallocate() extends the size too
    } else if (::ftruncate(fd, size) != 0) {
        throw_errno("ftruncate", target);
    }
}

unique_fd memfd_create(std::string_view name, unsigned flags) {
    if (name.find('\0') != std::string_view::npos) {
        throw std::invalid_argument("invalid memfd name " + quoted(name) +
                                    ": it holds a NUL character");
    }
    constexpr std::size_t name_max = 249; // MFD_NAME_MAX_LEN in mm/memfd.c
    if (name.size() > name_max) {
        throw std::invalid_argument("invalid memfd name " + quoted(name) +
                                    ": it is longer than 249 bytes");
    }
    const std::string text(name);
    unique_fd fd(::memfd_create(text.c_str(), flags));
    if (!fd) {
        const int err = errno;
        throw os_error(err, "memfd_create", text,
                       err == EMFILE ? detail::descriptor_limit_hint() : std::string());
    }
    return fd;
}

file_identity identity_of(int fd) {
    const struct stat st = detail::stat_of(fd, {});
    return {st.st_dev, st.st_ino};
}

unique_fd create_anonymous_memory(std::int64_t size) {
    if (size <= 0) {
        throw std::invalid_argument("size must be positive, not " +
                                    std::to_string(size));
    }
    unique_fd fd = memfd_create("memshare", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (::ftruncate(fd.get(), size) != 0) {
        throw_errno("ftruncate", "memfd:memshare");
    }
    add_seals(fd.get(), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
    return fd;
}

void add_seals(int fd, int seals) {
    if (::fcntl(fd, F_ADD_SEALS, seals) != 0) {
        const int err = errno;
        throw os_error(err, "fcntl(F_ADD_SEALS)", {},
                       err == EPERM    ? "F_SEAL_SEAL is set: no seal can be added (a "
                                         "memfd made without MFD_ALLOW_SEALING has it)"
                       : err == EBUSY  ? "F_SEAL_WRITE needs every writable shared "
                                         "mapping of the memory gone"
                       : err == EINVAL ? "this descriptor's file takes no seals"
                                       : "");
    }
}

int get_seals(int fd) {
    const int seals = ::fcntl(fd, F_GET_SEALS);
    if (seals < 0) {
        throw_errno("fcntl(F_GET_SEALS)");
    }
    return seals;
}

} // namespace memshare
