#include <memshare/base/blocking.hpp>
#include <memshare/queue/shared_queue.hpp>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <string>

namespace memshare {
namespace {

// Where things lie in the header: the mutex, the words, the two copies of
// the indices, the capacity and maxsize.
constexpr std::size_t words_at = shared_lock::cell_size;
constexpr std::size_t indices_at = words_at + 32;
constexpr std::size_t indices_size = 40;
constexpr std::size_t limits_at = indices_at + 2 * indices_size;
static_assert(words_at % 8 == 0 && indices_at % 8 == 0);
static_assert(limits_at + 16 <= shared_queue::header_size);

using shared_u64 = std::atomic_ref<std::uint64_t>;

constexpr int flags_shift = 56; // a record's header: flags << 56 | size
constexpr std::uint64_t size_mask = (std::uint64_t{1} << flags_shift) - 1;

std::uint64_t record_size(std::uint64_t payload) noexcept {
    return shared_queue::record_header + payload;
}

// Copies `size` bytes; through the blocking runner (without the GIL) when
// large.  Only the caller's pinned memory and the ring are touched.
void copy_bytes(std::byte* to, const std::byte* from, std::size_t size) {
    if (size >= large_transfer) {
        run_blocking([=] { std::memcpy(to, from, size); });
    } else if (size != 0) {
        std::memcpy(to, from, size);
    }
}

} // namespace

shared_queue::shared_queue(std::byte* cell, std::uint64_t capacity) noexcept
    : lock_(shared_lock::attach_unchecked(cell)),
      words_(reinterpret_cast<words*>(cell + words_at)),
      indices_(reinterpret_cast<indices*>(cell + indices_at)),
      maxsize_(reinterpret_cast<std::uint64_t*>(cell + limits_at) + 1),
      ring_(cell + header_size), capacity_(capacity) {}

shared_queue shared_queue::make(std::span<std::byte> cell, std::uint64_t maxsize) {
    if (cell.size() < header_size + smallest_ring) {
        throw std::invalid_argument("a Queue takes at least " +
                                    std::to_string(header_size + smallest_ring) +
                                    " bytes, not " + std::to_string(cell.size()));
    }
    std::byte* base = cell_in(cell, header_size, sync_kind::queue);
    std::memset(base + words_at, 0, header_size - words_at);
    auto* limits = reinterpret_cast<std::uint64_t*>(base + limits_at);
    const std::uint64_t capacity = cell.size() - header_size;
    shared_u64(limits[0]).store(capacity);
    shared_u64(limits[1]).store(maxsize);
    static_cast<void>(shared_lock::make(base, sync_kind::queue)); // stamps last
    return {base, capacity};
}

shared_queue shared_queue::attach(std::span<std::byte> cell) {
    std::byte* base = cell_in(cell, header_size, sync_kind::queue);
    check_header(base, sync_kind::queue);
    auto* limits = reinterpret_cast<std::uint64_t*>(base + limits_at);
    const std::uint64_t capacity = shared_u64(limits[0]).load();
    if (capacity < smallest_ring) {
        throw std::invalid_argument("the Queue there is damaged: its ring has " +
                                    std::to_string(capacity) + " bytes");
    }
    if (capacity > cell.size() - header_size) {
        throw std::invalid_argument(
            "the Queue there needs " + std::to_string(header_size + capacity) +
            " bytes; only " + std::to_string(cell.size()) + " are there");
    }
    return {base, capacity};
}

std::uint64_t shared_queue::maxsize() const noexcept {
    return shared_u64(*maxsize_).load();
}

shared_queue::indices shared_queue::current() const {
    // Read without the lock (count(), taken()), a copy may be rewritten
    // under the reader: by the commit after next, which flips the word
    // twice.  So the word is read again after the copy, as a sequence lock.
    indices found{};
    for (std::uint32_t seen = shared_word(words_->commit).load();;) {
        indices& now = indices_[seen & 1U];
        found = {shared_u64(now.head).load(), shared_u64(now.tail).load(),
                 shared_u64(now.used).load(), shared_u64(now.count).load(),
                 shared_u64(now.taken).load()};
        const std::uint32_t again = shared_word(words_->commit).load();
        if (again == seen) {
            break;
        }
        seen = again;
    }
    // Only a commit writes them, and it keeps these true: anything else is
    // stray bytes, which must not send a copy outside the ring.
    if (found.head >= capacity_ || found.tail >= capacity_ || found.used > capacity_ ||
        found.count > found.used / record_header ||
        (found.head + found.used) % capacity_ != found.tail) {
        throw damaged("its indices (head " + std::to_string(found.head) + ", tail " +
                      std::to_string(found.tail) + ", " + std::to_string(found.used) +
                      " bytes in " + std::to_string(found.count) + " records)");
    }
    return found;
}

std::runtime_error shared_queue::damaged(const std::string& what) const {
    return std::runtime_error(
        "the Queue's shared memory is damaged (stray writes?): " + what +
        " do not fit its ring of " + std::to_string(capacity_) + " bytes");
}

void shared_queue::commit(const indices& next) noexcept {
    const std::uint32_t commit = shared_word(words_->commit).load();
    indices& spare = indices_[(commit + 1) & 1U];
    shared_u64(spare.head).store(next.head);
    shared_u64(spare.tail).store(next.tail);
    shared_u64(spare.used).store(next.used);
    shared_u64(spare.count).store(next.count);
    shared_u64(spare.taken).store(next.taken);
    shared_word(words_->commit).store(commit + 1); // the one store that commits
}

std::uint64_t shared_queue::count() const {
    return current().count;
}

std::uint64_t shared_queue::taken() const {
    return current().taken;
}

void shared_queue::wake_takers() noexcept {
    shared_word(words_->items).fetch_add(1);
    futex_wake_all(words_->items);
}

bool shared_queue::fits(const indices& now, std::uint64_t payload,
                        std::uint64_t records) const noexcept {
    const std::uint64_t most = maxsize();
    const std::uint64_t free = capacity_ - now.used;
    return (most == 0 || records <= most - std::min(now.count, most)) &&
           records <= free / record_header && payload <= free - records * record_header;
}

std::uint64_t shared_queue::copy_in(std::uint64_t at, std::span<const std::byte> from) {
    const std::size_t first = std::min<std::size_t>(from.size(), capacity_ - at);
    copy_bytes(ring_ + at, from.data(), first);
    copy_bytes(ring_, from.data() + first, from.size() - first);
    return (at + from.size()) % capacity_;
}

std::uint64_t shared_queue::copy_out(std::uint64_t at, std::span<std::byte> into) {
    const std::size_t first = std::min<std::size_t>(into.size(), capacity_ - at);
    copy_bytes(into.data(), ring_ + at, first);
    copy_bytes(into.data() + first, ring_, into.size() - first);
    return (at + into.size()) % capacity_;
}

std::optional<shared_queue::held> shared_queue::try_hold() {
    switch (lock_.try_lock()) {
    case lock_outcome::acquired:
    case lock_outcome::owner_died: // its holder died: the ring is whole
        return held(*this);
    default:
        return std::nullopt;
    }
}

shared_queue::held::~held() {
    if (queue_ == nullptr) {
        return;
    }
    static_cast<void>(queue_->lock_.unlock());
    words& shared = *queue_->words_;
    // A taker still counted as spinning looks at the word again before it
    // sleeps (futex_wait compares it), so it takes a record without being
    // woken: only the records beyond the spinners wake sleepers.
    if (put_ != 0 && shared_word(shared.takers.sleeping).load() != 0) {
        const std::uint32_t spinning = shared_word(shared.takers.spinning).load();
        if (put_ > spinning) {
            futex_wake(shared.items,
                       static_cast<int>(std::min(put_ - spinning, 0x7fffffffU)));
        }
    }
    if (taken_ != 0 && shared_word(shared.putters.sleeping).load() != 0) {
        futex_wake_all(shared.room); // each looks whether its record fits now
    }
}

shared_queue::held::held(held&& other) noexcept
    : queue_(other.queue_), put_(other.put_), taken_(other.taken_) {
    other.queue_ = nullptr;
}

bool shared_queue::held::fits(std::uint64_t payload, std::uint64_t records) const {
    return queue_->fits(queue_->current(), payload, records);
}

void shared_queue::held::put(std::span<const std::byte> payload, std::uint8_t flags) {
    shared_queue& queue = *queue_;
    indices next = queue.current();
    if (!queue.fits(next, payload.size(), 1)) {
        throw std::logic_error("shared_queue::put: the record does not fit");
    }
    const std::uint64_t header = std::uint64_t{flags} << flags_shift | payload.size();
    next.tail = queue.copy_in(next.tail, std::as_bytes(std::span(&header, 1)));
    next.tail = queue.copy_in(next.tail, payload);
    next.used += record_size(payload.size());
    next.count += 1;
    queue.commit(next);
    shared_word(queue.words_->items).fetch_add(1);
    ++put_;
}

std::optional<shared_queue::record> shared_queue::held::oldest() const {
    shared_queue& queue = *queue_;
    const indices now = queue.current();
    if (now.count == 0) {
        return std::nullopt;
    }
    std::uint64_t header = 0;
    queue.copy_out(now.head, std::as_writable_bytes(std::span(&header, 1)));
    const record found{header & size_mask,
                       static_cast<std::uint8_t>(header >> flags_shift)};
    if (found.size > now.used - record_header) {
        throw queue.damaged("its oldest record's " + std::to_string(found.size) +
                            " bytes");
    }
    return found;
}

void shared_queue::held::take(std::span<std::byte> into,
                              std::span<std::uint64_t> claim) {
    shared_queue& queue = *queue_;
    const std::optional<record> found = oldest();
    if (!found || found->size != into.size()) {
        throw std::logic_error("shared_queue::take: no record of that size");
    }
    indices next = queue.current();
    next.head = queue.copy_out((next.head + record_header) % queue.capacity_, into);
    next.used -= record_size(into.size());
    next.count -= 1;
    next.taken += 1;
    for (std::uint64_t& word : claim) {
        shared_u64(word).store(next.taken);
    }
    queue.commit(next);
    shared_word(queue.words_->room).fetch_add(1);
    ++taken_;
}

std::uint32_t shared_queue::held::items_seen() const noexcept {
    return shared_word(queue_->words_->items).load();
}

std::uint32_t shared_queue::held::room_seen() const noexcept {
    return shared_word(queue_->words_->room).load();
}

} // namespace memshare
