// Mapping: making mappings, the way mmap.mmap does and the clearer ways of
// memshare (anonymous memory, files by path or descriptor, numpy.memmap
// modes).  Any file offset works: the window starts inside the page that
// holds it.
#include "base/files.hpp"
#include "base/linux_abi.hpp"

#include <memshare/base/blocking.hpp>
#include <memshare/base/error.hpp>
#include <memshare/base/flags.hpp>
#include <memshare/base/page.hpp>
#include <memshare/mapping/mapping.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <limits>
#include <stdexcept>

namespace memshare {
namespace {

// The page size a mapping with these flags is made of.
std::size_t granule_of(int flags) {
    if ((flags & MAP_HUGETLB) == 0) {
        return page_size();
    }
    const unsigned shift =
        (static_cast<unsigned>(flags) >> MAP_HUGE_SHIFT) & unsigned{MAP_HUGE_MASK};
    return shift != 0 ? std::size_t{1} << shift : default_huge_page_size();
}

// mmap's rule for ACCESS_DEFAULT: the access that `prot` allows.
access_mode access_for(int prot) {
    if ((prot & PROT_READ) != 0 && (prot & PROT_WRITE) != 0) {
        return access_mode::default_access;
    }
    return (prot & PROT_WRITE) != 0 ? access_mode::write : access_mode::read;
}

} // namespace

Mapping Mapping::from_fd(int fd, std::int64_t length, int flags, int prot,
                         access_mode access, std::int64_t offset, bool trackfd) {
    Mapping mapping = map_fd(fd, length, flags, prot, access, offset, trackfd);
    mapping.untracked_ = !trackfd;
    return mapping;
}

Mapping Mapping::map_fd(int fd, std::int64_t length, int flags, int prot,
                        access_mode access, std::int64_t offset, bool trackfd) {
    if (length < 0) {
        throw std::overflow_error("memory mapped length must be positive");
    }
    if (offset < 0) {
        throw std::overflow_error("memory mapped offset must be positive");
    }
    if (access != access_mode::default_access &&
        (flags != MAP_SHARED || prot != (PROT_READ | PROT_WRITE))) {
        throw std::invalid_argument("mmap can't specify both access and flags, prot.");
    }
    switch (access) {
    case access_mode::read:
        flags = MAP_SHARED;
        prot = PROT_READ;
        break;
    case access_mode::write:
        flags = MAP_SHARED;
        prot = PROT_READ | PROT_WRITE;
        break;
    case access_mode::copy:
        flags = MAP_PRIVATE;
        prot = PROT_READ | PROT_WRITE;
        break;
    case access_mode::default_access:
        access = access_for(prot);
        break;
    default:
        throw std::invalid_argument("mmap invalid access parameter.");
    }
    check_prot(prot, "mmap");
    if (fd == -1 || (flags & MAP_ANONYMOUS) != 0) {
        return map_anonymous(length, flags | MAP_ANONYMOUS, prot, access);
    }
    check_map_flags(flags);
    const std::string target = detail::path_of(fd);
    struct stat st{};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        if (length == 0) {
            if (st.st_size == 0) {
                throw std::invalid_argument("cannot mmap an empty file");
            }
            if (offset >= st.st_size) {
                throw std::invalid_argument("mmap offset is greater than file size");
            }
            length = st.st_size - offset;
        } else if (offset > st.st_size || st.st_size - offset < length) {
            throw std::invalid_argument("mmap length is greater than file size");
        }
    }
    unique_fd kept = trackfd ? unique_fd::duplicate(fd, target) : unique_fd();
    return map_window(fd, std::move(kept), target, static_cast<std::size_t>(length),
                      offset, flags, prot, access);
}

Mapping Mapping::from_shared_memory(unique_fd fd, std::size_t length, bool readonly,
                                    const std::string& target) {
    if (length == 0) {
        throw std::invalid_argument("cannot map " + target + ": it is empty");
    }
    const int map_fd = fd.get(); // read before `fd` moves into the call
    return map_window(map_fd, std::move(fd), target, length, 0, MAP_SHARED,
                      readonly ? PROT_READ : PROT_READ | PROT_WRITE,
                      readonly ? access_mode::read : access_mode::default_access);
}

Mapping Mapping::anonymous_memory(std::int64_t length, bool shared, int prot,
                                  int extra_flags) {
    if (length <= 0) {
        throw std::invalid_argument("size must be positive, not " +
                                    std::to_string(length));
    }
    const int flags = (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | extra_flags;
    return map_anonymous(length, flags, prot, access_for(prot));
}

Mapping Mapping::map_anonymous(std::int64_t length, int flags, int prot,
                               access_mode access) {
    check_prot(prot, "mmap");
    check_map_flags(flags);
    if (length <= 0) {
        throw os_error(EINVAL, "mmap", {},
                       "a mapping needs a positive length, not " +
                           std::to_string(length));
    }
    const std::size_t granule = granule_of(flags);
    const auto size = static_cast<std::size_t>(length);
    Region region;
    run_blocking([&] {
        region = Region(round_up(size, granule), prot, flags, -1, 0, granule, {});
    });
    return Mapping(std::move(region), unique_fd(), 0, size, 0, flags, access);
}

Mapping Mapping::map_window(int map_fd, unique_fd kept, const std::string& target,
                            std::size_t length, std::int64_t offset, int flags,
                            int prot, access_mode access) {
    const std::size_t page = page_size();
    const auto start = static_cast<std::size_t>(offset);
    const std::size_t delta = start - round_down(start, page);
    Region region;
    run_blocking([&] {
        region = Region(round_up(delta + length, page), prot, flags, map_fd,
                        static_cast<off_t>(start - delta), page, target);
    });
    return Mapping(std::move(region), std::move(kept), delta, length, offset, flags,
                   access);
}

Mapping Mapping::from_path(const std::string& path, file_mode mode,
                           std::optional<std::int64_t> length, std::int64_t offset,
                           int extra_flags) {
    check_file_request(mode, length, offset, extra_flags); // before O_TRUNC
    // O_NONBLOCK: open() of a FIFO would wait for its other end; mmap()
    // then refuses it at once.
    int oflags = O_CLOEXEC | O_NONBLOCK;
    switch (mode) {
    case file_mode::read:
    case file_mode::copy_on_write:
        oflags |= O_RDONLY;
        break;
    case file_mode::read_write:
        oflags |= O_RDWR;
        break;
    case file_mode::create:
        oflags |= O_RDWR | O_CREAT | O_TRUNC;
        break;
    }
    unique_fd fd(::open(path.c_str(), oflags, 0666));
    if (!fd) {
        throw_errno("open", path);
    }
    return map_file(std::move(fd), path, mode, length, offset, extra_flags);
}

Mapping Mapping::from_file_descriptor(int fd, file_mode mode,
                                      std::optional<std::int64_t> length,
                                      std::int64_t offset, int extra_flags) {
    check_file_request(mode, length, offset, extra_flags);
    const std::string target = detail::path_of(fd);
    return map_file(unique_fd::duplicate(fd, target), target, mode, length, offset,
                    extra_flags);
}

void Mapping::check_file_request(file_mode mode, std::optional<std::int64_t> length,
                                 std::int64_t offset, int extra_flags) {
    if (offset < 0) {
        throw std::invalid_argument("offset must not be negative, not " +
                                    std::to_string(offset));
    }
    if (length && *length <= 0) {
        throw std::invalid_argument("size must be positive, not " +
                                    std::to_string(*length));
    }
    if (length && *length > std::numeric_limits<std::int64_t>::max() - offset) {
        throw std::invalid_argument("offset + size is larger than any file");
    }
    if (mode == file_mode::create && !length) {
        throw std::invalid_argument("mode \"w+\" needs a size to create the file with");
    }
    if ((extra_flags & (MAP_TYPE | MAP_ANONYMOUS)) != 0) {
        throw std::invalid_argument("the mode chooses how a file is shared; extra "
                                    "flags may not include MAP_SHARED, MAP_PRIVATE "
                                    "or MAP_ANONYMOUS");
    }
    check_map_flags(MAP_SHARED | extra_flags);
}

Mapping Mapping::map_file(unique_fd fd, const std::string& target, file_mode mode,
                          std::optional<std::int64_t> length, std::int64_t offset,
                          int extra_flags) {
    if (mode == file_mode::create) {
        if (::ftruncate(fd.get(), offset + *length) != 0) {
            throw_errno("ftruncate", target);
        }
    }
    const struct stat st = detail::stat_of(fd.get(), target);
    if (S_ISREG(st.st_mode)) {
        const std::int64_t available = st.st_size - offset;
        if (!length && available <= 0) {
            throw std::invalid_argument(
                "cannot map '" + target + "': it has " + std::to_string(st.st_size) +
                " bytes, none at offset " + std::to_string(offset));
        }
        if (length && *length > available) {
            throw std::invalid_argument(
                "cannot map " + std::to_string(*length) + " bytes at offset " +
                std::to_string(offset) + " of '" + target + "': the file has " +
                std::to_string(st.st_size) +
                " bytes (mode \"w+\" creates a file of "
                "the size given, resize() grows a mapping and its file)");
        }
        length = length.value_or(available);
    } else if (!length) {
        throw std::invalid_argument("'" + target +
                                    "' is not a regular file; give the "
                                    "size to map");
    }
    const bool writes = mode == file_mode::read_write || mode == file_mode::create;
    const int flags =
        (mode == file_mode::copy_on_write ? MAP_PRIVATE : MAP_SHARED) | extra_flags;
    const int prot = mode == file_mode::read ? PROT_READ : PROT_READ | PROT_WRITE;
    const access_mode access = writes                    ? access_mode::write
                               : mode == file_mode::read ? access_mode::read
                                                         : access_mode::copy;
    check_map_flags(flags);
    const int map_fd = fd.get();
    return map_window(map_fd, std::move(fd), target, static_cast<std::size_t>(*length),
                      offset, flags, prot, access);
}

} // namespace memshare
