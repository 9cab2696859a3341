// Mapping: the file-like interface of mmap.mmap (position, read, write, find,
// move), indexing and copying, with mmap's exceptions for mmap's misuse.
// Every access to the mapped bytes goes through touch(), which guards it
// against SIGBUS and runs it as blocking when it is large.
#include <memshare/base/blocking.hpp>
#include <memshare/base/error.hpp>
#include <memshare/mapping/mapping.hpp>

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace memshare {
namespace {

// Python's rule for find()'s start and end: negative counts from the end,
// and the result is clipped to [0, size].
std::size_t clip_index(std::int64_t index, std::size_t size) {
    const auto n = static_cast<std::int64_t>(size);
    if (index < 0) {
        index += n;
    }
    return static_cast<std::size_t>(std::clamp<std::int64_t>(index, 0, n));
}

const std::byte* search_forward(const std::byte* first, std::size_t size,
                                std::span<const std::byte> needle) {
    // glibc's memmem is a two-way search: linear time, vectorized scanning.
    return static_cast<const std::byte*>(
        ::memmem(first, size, needle.data(), needle.size()));
}

const std::byte* search_backward(const std::byte* first, std::size_t size,
                                 std::span<const std::byte> needle) {
    // Candidates start in [first, first + size - needle.size()]; memrchr
    // finds them by their first byte, from the right.
    const auto lead = std::to_integer<int>(needle[0]);
    std::size_t span = size - needle.size() + 1;
    while (span > 0) {
        const auto* candidate =
            static_cast<const std::byte*>(::memrchr(first, lead, span));
        if (candidate == nullptr ||
            std::memcmp(candidate, needle.data(), needle.size()) == 0) {
            return candidate;
        }
        span = static_cast<std::size_t>(candidate - first);
    }
    return nullptr;
}

// The offsets [low, high) that a run of bytes spans.
std::pair<std::size_t, std::size_t> extent(const Mapping::byte_run& run) {
    const auto reach = static_cast<std::int64_t>(run.count - 1) * run.step;
    const auto start = static_cast<std::int64_t>(run.start);
    return {static_cast<std::size_t>(std::min(start, start + reach)),
            static_cast<std::size_t>(std::max(start, start + reach)) + 1};
}

} // namespace

template <class Access>
void Mapping::touch(const char* what, std::size_t begin, std::size_t end, bool writing,
                    Access&& access) {
    // Anonymous memory cannot raise SIGBUS (Linux answers a failed page
    // allocation with the OOM killer), so only files need the guard.
    const bool file_backed = (flags_ & MAP_ANONYMOUS) == 0;
    region_.require_intact(what);
    std::optional<memory_fault> fault;
    auto guarded_access = [&] {
        if (file_backed) {
            fault = guarded(region_.data() + delta_ + begin, end - begin, access);
        } else {
            access();
        }
    };
    if (end - begin >= large_transfer) {
        const Pin pinned = pin(writing);
        run_blocking(guarded_access);
    } else {
        guarded_access();
    }
    if (fault) {
        raise_fault(what, *fault);
    }
}

void Mapping::raise_fault(const char* what, const memory_fault& fault) const {
    region_.require_intact(what); // the shield replaced the pages: say so
    const auto offset = fault.address - (region_.data() + delta_);
    const bool hardware = fault.code == BUS_MCEERR_AR || fault.code == BUS_MCEERR_AO;
    throw os_error(hardware ? EIO : EFAULT, what, region_.target(),
                   hardware
                       ? "a hardware memory error at byte " + std::to_string(offset)
                       : "no memory could back byte " + std::to_string(offset) +
                             " of the mapping: its file was truncated after it "
                             "was mapped, or its filesystem is full");
}

std::size_t Mapping::tell() const {
    require_open();
    return pos_;
}

std::size_t Mapping::seek(std::int64_t distance, int whence) {
    require_open();
    std::int64_t base = 0;
    switch (whence) {
    case 0:
        break;
    case 1:
        base = static_cast<std::int64_t>(pos_);
        break;
    case 2:
        base = static_cast<std::int64_t>(length_);
        break;
    default:
        throw std::invalid_argument("unknown seek type");
    }
    std::int64_t where = 0;
    if (__builtin_add_overflow(base, distance, &where) || where < 0 ||
        where > static_cast<std::int64_t>(length_)) {
        throw std::invalid_argument("seek out of range");
    }
    pos_ = static_cast<std::size_t>(where);
    return pos_;
}

Mapping::byte_run Mapping::read(std::optional<std::int64_t> count) {
    require_open();
    const std::size_t remaining = pos_ < length_ ? length_ - pos_ : 0;
    std::size_t n = remaining;
    if (count && *count >= 0 && static_cast<std::uint64_t>(*count) < remaining) {
        n = static_cast<std::size_t>(*count);
    }
    const byte_run run{pos_, 1, n};
    pos_ += n;
    return run;
}

Mapping::byte_run Mapping::readline() {
    require_open();
    if (pos_ >= length_) {
        return {length_, 1, 0}; // at or past the end: mmap leaves the position
    }
    const std::size_t start = pos_;
    require_readable(start, length_);
    const std::byte* first = region_.data() + delta_ + start;
    const void* newline = nullptr;
    touch("readline", start, length_, false,
          [&] { newline = std::memchr(first, '\n', length_ - start); });
    const std::size_t n =
        newline != nullptr
            ? static_cast<std::size_t>(static_cast<const std::byte*>(newline) - first) +
                  1
            : length_ - start;
    pos_ = start + n;
    return {start, 1, n};
}

std::uint8_t Mapping::read_byte() {
    require_open();
    if (pos_ >= length_) {
        throw std::invalid_argument("read byte out of range");
    }
    const std::uint8_t value = byte_at(pos_);
    ++pos_;
    return value;
}

Mapping::byte_run Mapping::write(std::size_t count) {
    require_modifiable();
    if (pos_ > length_ || length_ - pos_ < count) {
        throw std::invalid_argument("data out of range");
    }
    const byte_run run{pos_, 1, count};
    pos_ += count;
    return run;
}

void Mapping::write_byte(std::uint8_t value) {
    require_modifiable();
    if (pos_ >= length_) {
        throw std::invalid_argument("write byte out of range");
    }
    set_byte(pos_, value);
    ++pos_;
}

std::int64_t Mapping::find(std::span<const std::byte> needle,
                           std::optional<std::int64_t> start,
                           std::optional<std::int64_t> end, bool reverse) {
    require_open();
    const std::size_t first =
        start ? clip_index(*start, length_) : std::min(pos_, length_);
    const std::size_t last = end ? clip_index(*end, length_) : length_;
    if (last < first || last - first < needle.size()) {
        return -1;
    }
    if (needle.empty()) {
        return static_cast<std::int64_t>(reverse ? last : first);
    }
    require_readable(first, last);
    const std::byte* haystack = region_.data() + delta_ + first;
    const std::byte* hit = nullptr;
    touch(reverse ? "rfind" : "find", first, last, false, [&] {
        hit = reverse ? search_backward(haystack, last - first, needle)
                      : search_forward(haystack, last - first, needle);
    });
    return hit != nullptr ? static_cast<std::int64_t>(first) + (hit - haystack) : -1;
}

void Mapping::move(std::int64_t dest, std::int64_t src, std::int64_t count) {
    require_modifiable();
    const auto size = static_cast<std::int64_t>(length_);
    if (dest < 0 || src < 0 || count < 0 || size - dest < count || size - src < count) {
        throw std::invalid_argument("source, destination, or count out of range");
    }
    const auto from = static_cast<std::size_t>(src);
    const auto to = static_cast<std::size_t>(dest);
    const auto n = static_cast<std::size_t>(count);
    require_readable(from, from + n);
    require_writable(to, to + n);
    std::byte* base = region_.data() + delta_;
    touch("move", std::min(from, to), std::max(from, to) + n, true,
          [&] { std::memmove(base + to, base + from, n); });
}

std::size_t Mapping::index(std::int64_t index) const {
    require_open();
    const auto size = static_cast<std::int64_t>(length_);
    if (index < 0) {
        index += size;
    }
    if (index < 0 || index >= size) {
        throw std::out_of_range("mmap index out of range");
    }
    return static_cast<std::size_t>(index);
}

std::uint8_t Mapping::byte_at(std::size_t offset) {
    require_within(offset, 1);
    require_readable(offset, offset + 1);
    const std::byte* at = region_.data() + delta_ + offset;
    std::byte value{};
    touch("read", offset, offset + 1, false, [&] { value = *at; });
    return std::to_integer<std::uint8_t>(value);
}

void Mapping::set_byte(std::size_t offset, std::uint8_t value) {
    require_within(offset, 1);
    require_writable(offset, offset + 1);
    std::byte* at = region_.data() + delta_ + offset;
    touch("write", offset, offset + 1, true, [&] { *at = std::byte{value}; });
}

void Mapping::copy_out(const byte_run& run, std::byte* to) {
    if (run.count == 0) {
        return;
    }
    const auto [low, high] = extent(run);
    require_within(low, high - low);
    require_readable(low, high);
    const std::byte* base = region_.data() + delta_;
    touch("read", low, high, false, [&] {
        if (run.step == 1) {
            std::memcpy(to, base + run.start, run.count);
            return;
        }
        for (std::size_t i = 0; i < run.count; ++i) {
            to[i] = base[run.start + static_cast<std::size_t>(
                                         static_cast<std::int64_t>(i) * run.step)];
        }
    });
}

void Mapping::copy_in(const byte_run& run, const std::byte* from) {
    if (run.count == 0) {
        return;
    }
    const auto [low, high] = extent(run);
    require_within(low, high - low);
    require_writable(low, high);
    std::byte* base = region_.data() + delta_;
    std::vector<std::byte> staged;
    if (run.step != 1 && from + run.count > base && from < base + length_) {
        // The source is this mapping: copy it out first, so that no byte is
        // overwritten before it is read.
        staged.resize(run.count);
        copy_out({static_cast<std::size_t>(from - base), 1, run.count}, staged.data());
        from = staged.data();
    }
    touch("write", low, high, true, [&] {
        if (run.step == 1) {
            std::memmove(base + run.start, from, run.count);
            return;
        }
        for (std::size_t i = 0; i < run.count; ++i) {
            base[run.start + static_cast<std::size_t>(static_cast<std::int64_t>(i) *
                                                      run.step)] = from[i];
        }
    });
}

void Mapping::require_within(std::size_t start, std::size_t count) const {
    require_open();
    region_.require_intact("index");
    if (start > length_ || count > length_ - start) {
        throw std::out_of_range("bytes [" + std::to_string(start) + ", +" +
                                std::to_string(count) + ") are outside the mapping");
    }
}

} // namespace memshare
