// Mapping: the state of a mapping, closing and resizing it, and the pointers
// it hands out.  Making mappings is in mapping_open.cpp, the memory calls in
// mapping_memory.cpp, the file-like reads and writes in mapping_io.cpp.
#include "base/files.hpp"
#include "base/linux_abi.hpp"

#include <memshare/arrays/array_memory.hpp>
#include <memshare/arrays/parked_segments.hpp>
#include <memshare/base/blocking.hpp>
#include <memshare/base/error.hpp>
#include <memshare/base/page.hpp>
#include <memshare/mapping/mapping.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <limits>
#include <stdexcept>

namespace memshare {

Mapping::Mapping(Region region, unique_fd fd, std::size_t delta, std::size_t length,
                 std::int64_t offset, int flags, access_mode access)
    : region_(std::move(region)), fd_(std::move(fd)), delta_(delta), length_(length),
      offset_(offset), flags_(flags), access_(access) {
    if (!anonymous()) {
        region_.watch_file(fd_.get()); // -1 if it keeps none
    }
}

Mapping::~Mapping() {
    region_.watch_file(-1); // fd_ closes before region_ unmaps
    if (!leased_ || !region_) {
        return;
    }
    const file_identity identity = *std::exchange(leased_, std::nullopt);
    release_lease(*this);
    // Kept only as it was made: the next user expects read-write pages.
    if (prot() != (PROT_READ | PROT_WRITE)) {
        return;
    }
    // The kept mapping holds no lease: it unmaps when it goes.
    if (own_) {
        recycle_segment(identity, std::move(*this));
    } else {
        park_segment(identity, std::move(*this));
    }
}

// -- state ---------------------------------------------------------------------

void Mapping::require_open() const {
    if (closed()) {
        throw closed_error("mmap closed or invalid");
    }
}

void Mapping::require_no_pointers(const char* message) const {
    if (exports_ > 0) {
        throw buffer_error(message);
    }
}

void Mapping::close() {
    Mapping closing = take();
    if (std::exchange(closing.leased_, std::nullopt)) {
        release_lease(closing); // while its page is still mapped
    }
    // munmap() of populated memory takes a while: tens of ms per GiB.
    run_blocking([&] { closing.region_.reset(); });
}

Mapping Mapping::take() {
    require_no_pointers("cannot close exported pointers exist");
    return std::move(*this);
}

std::byte* Mapping::data() const {
    require_open();
    return region_.data() + delta_;
}

std::size_t Mapping::length() const {
    require_open();
    return length_;
}

std::int64_t Mapping::offset() const {
    require_open();
    return offset_;
}

int Mapping::flags() const {
    require_open();
    return flags_;
}

access_mode Mapping::access() const {
    require_open();
    return access_;
}

bool Mapping::shared() const {
    return (flags() & MAP_TYPE) != MAP_PRIVATE;
}

bool Mapping::anonymous() const {
    return (flags() & MAP_ANONYMOUS) != 0;
}

int Mapping::prot() const {
    require_open();
    int common = PROT_READ | PROT_WRITE | PROT_EXEC;
    const std::size_t first = delta_;
    const std::size_t last = delta_ + length_;
    region_.pages().for_each_run(
        [&](std::size_t begin, std::size_t end, const page_state& page) {
            if (begin < last && end > first) {
                common &= page.guard ? PROT_NONE : page.prot;
            }
        });
    return common;
}

std::int64_t Mapping::size() const {
    if (anonymous()) { // as mmap.mmap, which fstat()s no descriptor
        throw os_error(EBADF, "fstat", region_.target(),
                       "anonymous memory has no file; len() is its length");
    }
    if (!fd_) {
        throw os_error(EBADF, "fstat", region_.target(),
                       "the mapping does not keep its file descriptor (trackfd=False)");
    }
    return detail::stat_of(fd_.get(), region_.target()).st_size;
}

int Mapping::fileno() const {
    require_open();
    return fd_.get();
}

void Mapping::resize(std::int64_t new_length) {
    require_open();
    region_.require_intact("resize"); // mremap() needs one mapping: before ftruncate
    require_no_pointers("mmap can't resize with extant buffers exported.");
    if (access_ == access_mode::read || access_ == access_mode::copy) {
        throw access_error("mmap can't resize a readonly or copy-on-write memory map.");
    }
    if (untracked_) { // as mmap.mmap from 3.13, whichever the memory
        throw std::invalid_argument("mmap can't resize with trackfd=False.");
    }
    if (new_length < 0 ||
        std::numeric_limits<std::int64_t>::max() - new_length < offset_) {
        throw std::invalid_argument("new size out of range");
    }
    if (new_length == 0) {
        throw os_error(EINVAL, "mremap", region_.target(),
                       "a mapping cannot shrink to 0 bytes");
    }
    const auto length = static_cast<std::size_t>(new_length);
    if (anonymous() && shared() && length > length_) {
        // Linux would grow the mapping but not the memory behind it, so the
        // new pages raise SIGBUS when touched (CPython gh-110243).
        throw std::invalid_argument("cannot grow a shared anonymous mapping: the "
                                    "kernel does not grow the memory behind it");
    }
    if (!anonymous() && !fd_) {
        throw os_error(EBADF, "ftruncate", region_.target(),
                       "the mapping does not keep its file descriptor (trackfd=False)");
    }
    const std::size_t region_size = round_up(delta_ + length, region_.granule());
    if (anonymous()) {
        region_.remap(region_size);
    } else {
        const off_t old_size = detail::stat_of(fd_.get(), region_.target()).st_size;
        if (::ftruncate(fd_.get(), offset_ + new_length) != 0) {
            throw_errno("ftruncate", region_.target());
        }
        try {
            region_.remap(region_size);
        } catch (...) {
            // Put the file back as it was; the mapping is unchanged.
            static_cast<void>(::ftruncate(fd_.get(), old_size));
            throw;
        }
    }
    length_ = length;
}

// -- pointers handed out -------------------------------------------------------------

Mapping::Pin Mapping::pin(bool writing) {
    require_open();
    ++exports_;
    writable_exports_ += writing ? 1 : 0;
    return Pin(*this, writing);
}

Mapping::exported_buffer Mapping::export_buffer() {
    require_open();
    region_.require_intact("export a buffer");
    if (!region_.readable(delta_, delta_ + length_)) {
        throw buffer_error("cannot export a buffer: some pages of the mapping are "
                           "PROT_NONE or guard pages");
    }
    const bool readonly =
        access_ == access_mode::read || !region_.writable(delta_, delta_ + length_);
    ++exports_;
    writable_exports_ += readonly ? 0 : 1;
    return {region_.data() + delta_, length_, readonly};
}

void Mapping::release_buffer(bool readonly) noexcept {
    --exports_;
    writable_exports_ -= readonly ? 0 : 1;
}

} // namespace memshare
