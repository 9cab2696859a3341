#include "base/linux_abi.hpp"
#include "mapping/fork_registry.hpp"
#include "mapping/region_state.hpp"

#include <memshare/base/error.hpp>
#include <memshare/base/flags.hpp>
#include <memshare/base/page.hpp>
#include <memshare/mapping/region.hpp>

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/vfs.h>

#include <cerrno>
#include <utility>

namespace memshare {
namespace {

std::string memlock_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_MEMLOCK, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
        return "RLIMIT_MEMLOCK is unlimited";
    }
    return "RLIMIT_MEMLOCK is " + format_bytes(limit.rlim_cur);
}

std::string mmap_call(std::size_t size, int prot, int flags, off_t offset) {
    return "mmap(" + format_bytes(size) + ", " + describe_prot(prot) + ", " +
           describe_map_flags(flags) + ", offset=" + std::to_string(offset) + ")";
}

// The huge page size of a file on hugetlbfs (a memfd made with
// MFD_HUGETLB, say), else 0.
std::size_t huge_page_file(int fd) {
    constexpr auto hugetlbfs_magic = 0x958458f6;
    struct statfs fs{};
    if (fd < 0 || ::fstatfs(fd, &fs) != 0 || fs.f_type != hugetlbfs_magic) {
        return 0;
    }
    return static_cast<std::size_t>(fs.f_bsize);
}

// What an mmap() errno means for these arguments, where it is not obvious.
std::string mmap_hint(int err, int flags, int fd, std::size_t granule) {
    if (err == ENOMEM && (flags & MAP_HUGETLB) == 0) {
        if (const std::size_t huge = huge_page_file(fd); huge != 0) {
            flags |= MAP_HUGETLB;
            granule = huge;
        }
    }
    if (err == ENOMEM && (flags & MAP_HUGETLB) != 0) {
        return "not enough free " + format_bytes(granule) +
               " huge pages: " + std::to_string(free_huge_pages(granule)) +
               " free; /proc/sys/vm/nr_hugepages reserves them";
    }
    if (err == EAGAIN && (flags & MAP_LOCKED) != 0) {
        return "cannot lock that much memory: " + memlock_limit();
    }
    if (err == EACCES) {
        return "the file is not open for reading, or not for writing as MAP_SHARED "
               "with PROT_WRITE needs";
    }
    if (err == ENODEV) {
        return "this file does not support memory mapping";
    }
    return {};
}

std::string advise_hint(int err, int advice) {
    const advice_info* info = find_advice(advice);
    const std::string name = info != nullptr ? info->name : std::to_string(advice);
    if (err == EINVAL && info != nullptr) {
        return name + " needs Linux " + info->since +
               " or later and a mapping of a kind it applies to; this kernel is " +
               kernel_release();
    }
    if (err == EPERM) {
        return name + " needs a privilege (CAP_SYS_ADMIN) or pages it may touch";
    }
    return name;
}

} // namespace

Region::Region() noexcept = default;

Region::Region(std::size_t size, int prot, int flags, int fd, off_t offset,
               std::size_t granule, std::string target)
    : state_(std::make_unique<detail::region_state>()) {
    void* addr = ::mmap(nullptr, size, prot, flags, fd, offset);
    if (addr == MAP_FAILED) {
        const int err = errno;
        throw os_error(err, mmap_call(size, prot, flags, offset), std::move(target),
                       mmap_hint(err, flags, fd, granule));
    }
    state_->addr = static_cast<std::byte*>(addr);
    state_->size = size;
    state_->granule = granule;
    state_->pages = page_states(size, page_state{.prot = prot});
    state_->target = std::move(target);
    state_->file_offset = fd >= 0 ? offset : 0;
    state_->shield = shielded_range(state_->addr, size, prot, granule, &state_->target);
}

Region::~Region() {
    reset();
}

Region::Region(Region&&) noexcept = default;

Region& Region::operator=(Region&& other) noexcept {
    if (this != &other) {
        reset();
        state_ = std::move(other.state_);
    }
    return *this;
}

Region::operator bool() const noexcept {
    return state_ != nullptr;
}
std::byte* Region::data() const noexcept {
    return state_ ? state_->addr : nullptr;
}
std::size_t Region::size() const noexcept {
    return state_ ? state_->size : 0;
}
std::size_t Region::granule() const noexcept {
    return state_ ? state_->granule : 0;
}
const page_states& Region::pages() const noexcept {
    return state_->pages;
}
std::string Region::target() const {
    return state_ ? state_->target : std::string();
}

bool Region::readable(std::size_t begin, std::size_t end) const {
    // Linux makes every writable page readable too.
    return state_->pages.all_of(begin, end, [](const page_state& page) {
        return !page.guard && (page.prot & (PROT_READ | PROT_WRITE)) != 0;
    });
}

bool Region::writable(std::size_t begin, std::size_t end) const {
    return state_->pages.all_of(begin, end, [](const page_state& page) {
        return !page.guard && (page.prot & PROT_WRITE) != 0;
    });
}

void Region::protect(std::size_t begin, std::size_t end, int prot) {
    check_prot(prot, "mprotect");
    if (::mprotect(data() + begin, end - begin, prot) != 0) {
        throw_errno("mprotect(" + describe_prot(prot) + ")", target(),
                    errno == EACCES ? "the file is not open for writing, so its "
                                      "MAP_SHARED pages cannot become writable"
                                    : "");
    }
    state_->pages.update(begin, end, [prot](page_state& page) { page.prot = prot; });
    state_->shield.allow(prot);
}

void Region::advise(std::size_t begin, std::size_t end, int advice) {
    if (::madvise(data() + begin, end - begin, advice) != 0) {
        const int err = errno;
        throw os_error(err, "madvise", target(), advise_hint(err, advice));
    }
    const advice_info* info = find_advice(advice);
    const advice_effect effect = info ? info->effect : advice_effect::hint;
    auto set = [&](bool page_state::* field, bool value) {
        state_->pages.update(begin, end,
                             [field, value](page_state& page) { page.*field = value; });
    };
    switch (effect) {
    case advice_effect::set_dontfork:
        set(&page_state::dontfork, true);
        if (!state_->in_fork_registry) {
            detail::fork_registry_add(*state_);
        }
        break;
    case advice_effect::clear_dontfork:
        set(&page_state::dontfork, false);
        break;
    case advice_effect::set_guard:
        set(&page_state::guard, true);
        break;
    case advice_effect::clear_guard:
        set(&page_state::guard, false);
        break;
    default:
        break;
    }
}

void Region::sync(std::size_t begin, std::size_t end, int flags) const {
    check_msync_flags(flags);
    if (::msync(data() + begin, end - begin, flags) != 0) {
        throw_errno("msync", target(),
                    errno == EBUSY ? "MS_INVALIDATE on locked pages" : "");
    }
}

void Region::lock(std::size_t begin, std::size_t end, bool on_fault) const {
    const unsigned flags = on_fault ? MLOCK_ONFAULT : 0U;
    if (::mlock2(data() + begin, end - begin, flags) != 0) {
        const int err = errno;
        throw os_error(err, on_fault ? "mlock2(MLOCK_ONFAULT)" : "mlock", target(),
                       err == ENOMEM || err == EPERM || err == EAGAIN
                           ? "cannot lock " + format_bytes(end - begin) + ": " +
                                 memlock_limit()
                           : "");
    }
}

void Region::unlock(std::size_t begin, std::size_t end) const {
    if (::munlock(data() + begin, end - begin) != 0) {
        throw_errno("munlock", target());
    }
}

std::vector<std::uint8_t> Region::residency(std::size_t begin, std::size_t end) const {
    const std::size_t page = page_size();
    std::vector<unsigned char> vec((end - begin + page - 1) / page);
    if (::mincore(data() + begin, end - begin, vec.data()) != 0) {
        throw_errno("mincore", target());
    }
    std::vector<std::uint8_t> resident(vec.size());
    for (std::size_t i = 0; i < vec.size(); ++i) {
        // Only bit 0 is defined; the others are reserved.
        resident[i] = vec[i] & 1U;
    }
    return resident;
}

void Region::set_name(std::size_t begin, std::size_t end,
                      const std::string& name) const {
    const auto addr = reinterpret_cast<unsigned long>(data() + begin);
    if (::prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, end - begin, name.c_str()) !=
        0) {
        const int err = errno;
        throw os_error(err, "prctl(PR_SET_VMA_ANON_NAME)", target(),
                       err == EBADF    ? "only anonymous memory can be named"
                       : err == EINVAL ? "the kernel lacks CONFIG_ANON_VMA_NAME, or "
                                         "the name holds a character it refuses"
                                       : "");
    }
}

void Region::remap(std::size_t new_size) {
    void* addr = ::mremap(data(), size(), new_size, MREMAP_MAYMOVE);
    if (addr == MAP_FAILED) {
        throw_errno("mremap(" + format_bytes(size()) + " to " + format_bytes(new_size) +
                        ")",
                    target());
    }
    state_->addr = static_cast<std::byte*>(addr);
    state_->size = new_size;
    state_->pages.resize(new_size);
    state_->shield.move_to(state_->addr, new_size);
}

void Region::watch_file(int fd) noexcept {
    if (state_) {
        state_->shield.watch_file(fd, static_cast<off_t>(state_->file_offset));
    }
}

std::optional<shield_damage> Region::damage() const noexcept {
    return state_ ? state_->shield.damage() : std::nullopt;
}

void Region::require_intact(const std::string& call) const {
    if (const std::optional<shield_damage> found = damage()) {
        throw damaged_error(EFAULT, call, target(),
                            describe_damage(target(), size(), *found,
                                            state_->shield.file_size(),
                                            state_->file_offset));
    }
}

void Region::reset() noexcept {
    if (!state_) {
        return;
    }
    detail::fork_registry_remove(*state_);
    state_->shield.reset(); // before the range can be mapped again
    // munmap() of a range we mapped fails only for arguments we never pass.
    ::munmap(state_->addr, state_->size);
    state_.reset();
}

} // namespace memshare
