// Mapping: the memory calls on byte ranges of a mapping (mprotect, msync,
// madvise, mlock, mincore) and the checks that keep each one to whole pages
// where rounding would touch bytes the caller did not name.
#include "base/files.hpp"
#include "base/linux_abi.hpp"

#include <memshare/base/blocking.hpp>
#include <memshare/base/error.hpp>
#include <memshare/base/flags.hpp>
#include <memshare/base/page.hpp>
#include <memshare/mapping/mapping.hpp>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <stdexcept>
#include <string>

namespace memshare {
namespace {

std::string range_text(std::size_t begin, std::size_t end) {
    return "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

} // namespace

Mapping::byte_range Mapping::checked_range(const char* what, std::int64_t start,
                                           std::optional<std::int64_t> length) const {
    require_open();
    region_.require_intact(what);
    const auto size = static_cast<std::int64_t>(length_);
    const auto outside = [&](const std::string& range) {
        return std::invalid_argument(std::string(what) + ": " + range +
                                     " is outside the mapping of " +
                                     std::to_string(size) + " bytes");
    };
    if (start < 0 || start > size) {
        throw outside("start=" + std::to_string(start));
    }
    const std::int64_t count = length.value_or(size - start);
    if (count < 0 || count > size - start) {
        throw outside("start=" + std::to_string(start) +
                      ", length=" + std::to_string(count));
    }
    return {static_cast<std::size_t>(start), static_cast<std::size_t>(start + count)};
}

Mapping::byte_range Mapping::pages_around(byte_range range) const {
    const std::size_t granule = region_.granule();
    return {round_down(delta_ + range.begin, granule),
            round_up(delta_ + range.end, granule)};
}

Mapping::byte_range Mapping::pages_exactly(const char* what, byte_range range) const {
    const std::size_t granule = region_.granule();
    const bool starts = range.begin == 0 || (delta_ + range.begin) % granule == 0;
    const bool ends = range.end == length_ || (delta_ + range.end) % granule == 0;
    const byte_range pages = pages_around(range);
    if (!starts || !ends) {
        const std::size_t first = pages.begin > delta_ ? pages.begin - delta_ : 0;
        const std::size_t last = std::min(pages.end - delta_, length_);
        throw os_error(EINVAL, what, region_.target(),
                       "it works on whole pages, and the pages holding bytes " +
                           range_text(range.begin, range.end) + " hold bytes " +
                           range_text(first, last) + " of the mapping");
    }
    return pages;
}

void Mapping::require_readable(std::size_t begin, std::size_t end) const {
    if (!region_.readable(delta_ + begin, delta_ + end)) {
        throw access_error("mmap can't read bytes " + range_text(begin, end) +
                           ": their pages are PROT_NONE or guard pages");
    }
}

void Mapping::require_modifiable() const {
    require_open();
    if (access_ == access_mode::read) {
        throw access_error("mmap can't modify a readonly memory map.");
    }
}

void Mapping::require_writable(std::size_t begin, std::size_t end) const {
    require_modifiable();
    if (!region_.writable(delta_ + begin, delta_ + end)) {
        throw access_error("mmap can't write bytes " + range_text(begin, end) +
                           ": their pages are not writable (see protect())");
    }
}

void Mapping::protect(int prot, std::int64_t start,
                      std::optional<std::int64_t> length) {
    const byte_range range = checked_range("protect", start, length);
    check_prot(prot, "mprotect");
    if (access_ == access_mode::read && (prot & PROT_WRITE) != 0) {
        throw access_error("mmap can't make a readonly memory map writable; map it "
                           "with write access instead");
    }
    if (exports_ > 0 && (prot & (PROT_READ | PROT_WRITE)) == 0) {
        throw buffer_error("cannot make pages inaccessible while buffers or calls "
                           "use the mapping");
    }
    if (writable_exports_ > 0 && (prot & PROT_WRITE) == 0) {
        throw buffer_error("cannot drop PROT_WRITE while writable buffers or calls "
                           "use the mapping");
    }
    if (range.begin == range.end) {
        return;
    }
    byte_range pages = pages_exactly("mprotect", range);
    if (leased_) {
        // The last page holds the lease count (arrays/array_memory.hpp), which
        // dropping the mapping writes: it keeps its protection.  No array
        // data lies in it.
        pages.end = std::min(pages.end, delta_ + length_ - page_size());
        if (pages.begin >= pages.end) {
            return;
        }
    }
    region_.protect(pages.begin, pages.end, prot);
}

void Mapping::sync(std::int64_t start, std::optional<std::int64_t> length, int flags) {
    check_msync_flags(flags);
    const byte_range pages = pages_around(checked_range("sync", start, length));
    const Pin pinned = pin(false);
    run_blocking([&] { region_.sync(pages.begin, pages.end, flags); });
}

void Mapping::flush(std::int64_t offset, std::optional<std::int64_t> size) {
    require_open();
    const auto length = static_cast<std::int64_t>(length_);
    const std::int64_t count = size.value_or(length);
    if (count < 0 || offset < 0 || length - offset < count) {
        throw std::invalid_argument("flush values out of range");
    }
    if (access_ == access_mode::read || access_ == access_mode::copy) {
        return;
    }
    sync(offset, count, MS_SYNC);
}

void Mapping::advise(int advice, std::int64_t start,
                     std::optional<std::int64_t> length) {
    const byte_range range = checked_range("advise", start, length);
    const advice_info* info = find_advice(advice);
    if (info == nullptr) {
        throw os_error(EINVAL, "madvise", region_.target(),
                       "unknown advice " + std::to_string(advice));
    }
    if (info->effect == advice_effect::refused) {
        throw std::invalid_argument(std::string(info->name) +
                                    " makes pages raise SIGBUS when touched; memshare "
                                    "refuses it");
    }
    if (info->effect == advice_effect::set_guard) {
        require_no_pointers("cannot install guard pages while buffers or calls use "
                            "the mapping");
    }
    const bool exact = info->effect != advice_effect::hint &&
                       info->effect != advice_effect::populate_read &&
                       info->effect != advice_effect::populate_write;
    const byte_range pages =
        exact ? pages_exactly("madvise", range) : pages_around(range);
    if (range.begin == range.end) {
        return;
    }
    const bool changes_pages = info->effect != advice_effect::hint &&
                               info->effect != advice_effect::discard &&
                               info->effect != advice_effect::populate_read &&
                               info->effect != advice_effect::populate_write;
    if (changes_pages) {
        region_.advise(pages.begin, pages.end, advice);
        return;
    }
    // The rest change no page state and may read ahead or fault pages in.
    const Pin pinned = pin(false);
    run_blocking([&] { region_.advise(pages.begin, pages.end, advice); });
}

void Mapping::madvise(int advice, std::int64_t start,
                      std::optional<std::int64_t> length) {
    require_open();
    const auto size = static_cast<std::int64_t>(length_);
    if (start < 0 || start >= size) {
        throw std::invalid_argument("madvise start out of bounds");
    }
    std::int64_t count = length.value_or(size);
    if (count < 0) {
        throw std::invalid_argument("madvise length invalid");
    }
    if (std::numeric_limits<std::int64_t>::max() - start < count) {
        throw std::overflow_error("madvise length too large");
    }
    advise(advice, start, std::min(count, size - start));
}

void Mapping::lock(std::int64_t start, std::optional<std::int64_t> length,
                   bool on_fault) {
    const byte_range pages = pages_around(checked_range("lock", start, length));
    const Pin pinned = pin(false);
    try {
        run_blocking([&] { region_.lock(pages.begin, pages.end, on_fault); });
    } catch (const os_error& error) {
        // mlock() says ENOMEM for pages past the end of the file too.
        const std::int64_t needed = offset_ + static_cast<std::int64_t>(length_);
        if (error.code().value() != ENOMEM || anonymous() || !fd_) {
            throw;
        }
        const std::int64_t now = detail::stat_of(fd_.get(), region_.target()).st_size;
        if (now >= needed) {
            throw;
        }
        throw os_error(ENOMEM, error.call(), error.target(),
                       "the file is now " + std::to_string(now) +
                           " bytes, shorter than the " + std::to_string(needed) +
                           " the mapping reaches: pages past its end cannot be locked");
    }
}

void Mapping::unlock(std::int64_t start, std::optional<std::int64_t> length) {
    const byte_range pages = pages_around(checked_range("unlock", start, length));
    region_.unlock(pages.begin, pages.end);
}

void Mapping::populate(bool write, std::int64_t start,
                       std::optional<std::int64_t> length) {
    const byte_range range = checked_range("populate", start, length);
    if (write) {
        require_writable(range.begin, range.end);
    } else {
        require_readable(range.begin, range.end);
    }
    advise(write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ, start, length);
}

std::vector<std::uint8_t> Mapping::residency() {
    require_open();
    const std::size_t page = page_size();
    std::vector<std::uint8_t> resident;
    const Pin pinned = pin(false);
    run_blocking([&] {
        resident = region_.residency(round_down(delta_, page),
                                     round_up(delta_ + length_, page));
    });
    return resident;
}

void Mapping::set_name(const std::string& name) {
    require_open();
    if (name.find('\0') != std::string::npos) {
        throw std::invalid_argument("embedded null character");
    }
    region_.set_name(0, region_.size(), name);
}

} // namespace memshare
