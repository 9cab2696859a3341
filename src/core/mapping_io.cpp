// Mapping: the file-like interface of mmap.mmap (position, read, write, find,
// move) and indexing, with mmap's exceptions for mmap's misuse.
#include <memshare/blocking.hpp>
#include <memshare/error.hpp>
#include <memshare/mapping.hpp>

#include <algorithm>
#include <cstring>
#include <stdexcept>

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

const std::byte* search_forward(const std::byte* first, const std::byte* last,
                                std::span<const std::byte> needle) {
    // glibc's memmem is a two-way search: linear time, vectorized scanning.
    const void* hit = ::memmem(first, static_cast<std::size_t>(last - first),
                               needle.data(), needle.size());
    return hit != nullptr ? static_cast<const std::byte*>(hit) : nullptr;
}

const std::byte* search_backward(const std::byte* first, const std::byte* last,
                                 std::span<const std::byte> needle) {
    if (static_cast<std::size_t>(last - first) < needle.size()) {
        return nullptr;
    }
    // Candidates start in [first, last - needle.size()]; memrchr finds them
    // by their first byte, from the right.
    const auto lead = std::to_integer<int>(needle[0]);
    std::size_t span = static_cast<std::size_t>(last - first) - needle.size() + 1;
    while (span > 0) {
        const void* hit = ::memrchr(first, lead, span);
        if (hit == nullptr) {
            return nullptr;
        }
        const auto* candidate = static_cast<const std::byte*>(hit);
        if (std::memcmp(candidate, needle.data(), needle.size()) == 0) {
            return candidate;
        }
        span = static_cast<std::size_t>(candidate - first);
    }
    return nullptr;
}

} // namespace

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

std::span<const std::byte> Mapping::read(std::optional<std::int64_t> count) {
    require_open();
    const std::size_t remaining = pos_ < length_ ? length_ - pos_ : 0;
    std::size_t n = remaining;
    if (count && *count >= 0 && static_cast<std::uint64_t>(*count) < remaining) {
        n = static_cast<std::size_t>(*count);
    }
    const auto bytes = readable(pos_, n);
    pos_ += n;
    return bytes;
}

std::span<const std::byte> Mapping::readline() {
    require_open();
    const std::size_t remaining = pos_ < length_ ? length_ - pos_ : 0;
    const auto rest = readable(pos_, remaining);
    const void* newline = std::memchr(rest.data(), '\n', rest.size());
    const std::size_t n =
        newline != nullptr ? static_cast<std::size_t>(
                                 static_cast<const std::byte*>(newline) - rest.data()) +
                                 1
                           : rest.size();
    pos_ += n;
    return rest.first(n);
}

std::uint8_t Mapping::read_byte() {
    require_open();
    if (pos_ >= length_) {
        throw std::invalid_argument("read byte out of range");
    }
    const auto byte = readable(pos_, 1)[0];
    ++pos_;
    return std::to_integer<std::uint8_t>(byte);
}

std::span<std::byte> Mapping::write(std::size_t count) {
    require_modifiable();
    if (pos_ > length_ || length_ - pos_ < count) {
        throw std::invalid_argument("data out of range");
    }
    const auto bytes = writable(pos_, count);
    pos_ += count;
    return bytes;
}

void Mapping::copy_out(std::span<const std::byte> from, std::byte* to) {
    auto copy = [&] { std::memmove(to, from.data(), from.size()); };
    if (from.size() >= large_transfer) {
        const Pin pinned = pin(false);
        run_blocking(copy);
    } else {
        copy();
    }
}

void Mapping::copy_in(std::span<std::byte> to, const std::byte* from) {
    // memmove: the source may be a buffer exported by this very mapping.
    auto copy = [&] { std::memmove(to.data(), from, to.size()); };
    if (to.size() >= large_transfer) {
        const Pin pinned = pin(true);
        run_blocking(copy);
    } else {
        copy();
    }
}

void Mapping::write_byte(std::uint8_t value) {
    require_modifiable();
    if (pos_ >= length_) {
        throw std::invalid_argument("write byte out of range");
    }
    writable(pos_, 1)[0] = std::byte{value};
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
    const auto haystack = readable(first, last - first);
    const std::byte* begin = haystack.data();
    const std::byte* hit = nullptr;
    auto search = [&] {
        hit = reverse ? search_backward(begin, begin + haystack.size(), needle)
                      : search_forward(begin, begin + haystack.size(), needle);
    };
    if (haystack.size() >= large_transfer) {
        const Pin pinned = pin(false);
        run_blocking(search);
    } else {
        search();
    }
    return hit != nullptr ? static_cast<std::int64_t>(first) + (hit - begin) : -1;
}

void Mapping::move(std::int64_t dest, std::int64_t src, std::int64_t count) {
    require_modifiable();
    const auto size = static_cast<std::int64_t>(length_);
    if (dest < 0 || src < 0 || count < 0 || size - dest < count || size - src < count) {
        throw std::invalid_argument("source, destination, or count out of range");
    }
    const auto n = static_cast<std::size_t>(count);
    const auto from = readable(static_cast<std::size_t>(src), n);
    const auto to = writable(static_cast<std::size_t>(dest), n);
    std::memmove(to.data(), from.data(), n);
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

void Mapping::require_within(std::size_t start, std::size_t count) const {
    require_open();
    if (start > length_ || count > length_ - start) {
        throw std::out_of_range("bytes [" + std::to_string(start) + ", +" +
                                std::to_string(count) + ") are outside the mapping");
    }
}

std::span<const std::byte> Mapping::readable(std::size_t start,
                                             std::size_t count) const {
    require_within(start, count);
    require_readable(start, start + count);
    return {region_.data() + delta_ + start, count};
}

std::span<std::byte> Mapping::writable(std::size_t start, std::size_t count) {
    require_within(start, count);
    require_writable(start, start + count);
    return {region_.data() + delta_ + start, count};
}

} // namespace memshare
