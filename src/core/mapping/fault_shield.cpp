#include <memshare/base/error.hpp>
#include <memshare/base/page.hpp>
#include <memshare/mapping/fault_shield.hpp>

#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <mutex>
#include <utility>

namespace memshare {
namespace {

// One registered range.  Every field is zero when free, so the table lives
// in zero-filled memory that costs nothing until used; the handler reads
// the fields without a lock.
struct slot {
    std::atomic<std::uintptr_t> begin;
    std::atomic<std::uintptr_t> end;
    std::atomic<int> prot;
    std::atomic<std::size_t> granule;
    std::atomic<int> fd_plus_one; // 0: no file watched
    std::atomic<std::int64_t> file_offset;
    std::atomic<std::uintptr_t> first_plus_one; // 0: nothing replaced
    std::atomic<std::uint64_t> faults;
    std::atomic<std::uint64_t> reported; // faults take_damage_report() told of
};

// A process has at most vm.max_map_count (65530 by default) mappings.
constexpr std::uint32_t capacity = 1U << 16;
std::array<slot, capacity> slots;
std::atomic<std::uint32_t> high_water; // slots at and above are unused

// The threads whose faults were shielded, for the watcher; a ring, as the
// handler cannot allocate.  A thread lost to overflow still finds out from
// memshare's calls on the range.
constexpr std::uint32_t ring_size = 64;
std::array<std::atomic<unsigned long>, ring_size> faulted_threads;
std::atomic<std::uint32_t> ring_next;
std::atomic<int> event_fd{-1}; // the handler's doorbell

// Registration, in ordinary code.
std::mutex registry_mutex;
std::vector<std::uint32_t>* free_slots = nullptr; // never destroyed: forks
std::array<const std::string*, capacity> labels{};
std::uint32_t ring_seen = 0; // by wait_for_shielded_faults()

void make_event_fd() {
    const int fd = ::eventfd(0, EFD_CLOEXEC);
    if (fd < 0) {
        throw_errno("eventfd");
    }
    event_fd.store(fd, std::memory_order_release);
}

void prepare_fork() {
    registry_mutex.lock();
}
void parent_after_fork() {
    registry_mutex.unlock();
}
// The child has a doorbell of its own, and no watcher until one starts.
void child_after_fork() {
    registry_mutex.unlock();
    const int inherited = event_fd.exchange(-1);
    if (inherited >= 0) {
        ::close(inherited);
        const int fd = ::eventfd(0, EFD_CLOEXEC);
        event_fd.store(fd, std::memory_order_release);
    }
    ring_seen = ring_next.load();
}

// Called with the registry's lock held.
void start_once() {
    if (free_slots != nullptr) {
        return;
    }
    make_event_fd();
    free_slots = new std::vector<std::uint32_t>();
    ::pthread_atfork(prepare_fork, parent_after_fork, child_after_fork);
}

std::uint32_t take_slot() {
    if (!free_slots->empty()) {
        const std::uint32_t index = free_slots->back();
        free_slots->pop_back();
        return index;
    }
    const std::uint32_t index = high_water.load(std::memory_order_relaxed);
    if (index == capacity) {
        return 0xffffffff; // unshielded, as before memshare had a shield
    }
    high_water.store(index + 1, std::memory_order_release);
    return index;
}

void clear(slot& s) noexcept {
    s.begin.store(0, std::memory_order_release);
    s.end.store(0, std::memory_order_release);
    s.fd_plus_one.store(0);
    s.prot.store(0);
    s.granule.store(0);
    s.file_offset.store(0);
    s.first_plus_one.store(0);
    s.faults.store(0);
    s.reported.store(0);
}

// -- in the signal handler: atomics and async-signal-safe calls only ---------

// The size of the file the range watches now, if it watches one.
std::optional<std::int64_t> watched_size(const slot& s) {
    const int fd = s.fd_plus_one.load() - 1;
    struct stat st{};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
        return std::nullopt;
    }
    return st.st_size;
}

// The end of the pages to replace for a fault at `page`: the next granule,
// or the end of the range if the watched file ends before `page` (every page
// after is past the end too).
std::uintptr_t replace_until(const slot& s, std::uintptr_t page, std::uintptr_t begin,
                             std::uintptr_t end) {
    const std::uintptr_t next = std::min(page + s.granule.load(), end);
    const std::optional<std::int64_t> size = watched_size(s);
    const auto page_offset =
        s.file_offset.load() + static_cast<std::int64_t>(page - begin);
    return size && *size <= page_offset ? end : next;
}

// Records a replacement from `offset`; true for the range's first.
bool note_replaced(slot& s, std::uintptr_t offset) {
    std::uintptr_t first = s.first_plus_one.load();
    while ((first == 0 || offset + 1 < first) &&
           !s.first_plus_one.compare_exchange_weak(first, offset + 1)) {
    }
    return s.faults.fetch_add(1) == 0;
}

// Tells the watcher which thread to raise the error in.
void ring_doorbell() {
    const std::uint32_t index = ring_next.fetch_add(1);
    faulted_threads[index % ring_size].store(::pthread_self());
    const int fd = event_fd.load(std::memory_order_acquire);
    const std::uint64_t one = 1;
    if (fd >= 0) {
        [[maybe_unused]] const ssize_t written = ::write(fd, &one, sizeof one);
    }
}

bool replace(slot& s, std::uintptr_t address, std::uintptr_t begin, std::uintptr_t end,
             bool report_thread) {
    const std::size_t granule = s.granule.load();
    const std::uintptr_t page = begin + (address - begin) / granule * granule;
    const std::uintptr_t stop = replace_until(s, page, begin, end);
    // The raw call: no interceptor (a sanitizer's) runs inside the handler.
    const long made = ::syscall(SYS_mmap, page, stop - page, s.prot.load(),
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (made < 0) {
        return false;
    }
    // Only the first fault is news: a thread told of the damage may go on
    // reading the range, which stays readable as zeros.
    const bool first = note_replaced(s, page - begin);
    if (report_thread && first) {
        ring_doorbell();
    }
    return true;
}

} // namespace

namespace detail {

bool shield_fault(const void* address, bool report_thread) noexcept {
    const int saved_errno = errno;
    const auto where = reinterpret_cast<std::uintptr_t>(address);
    const std::uint32_t used = high_water.load(std::memory_order_acquire);
    bool shielded = false;
    for (std::uint32_t i = 0; i < used && !shielded; ++i) {
        slot& s = slots[i];
        const std::uintptr_t begin = s.begin.load(std::memory_order_acquire);
        const std::uintptr_t end = s.end.load(std::memory_order_acquire);
        if (begin != 0 && begin <= where && where < end) {
            shielded = replace(s, where, begin, end, report_thread);
            break;
        }
    }
    errno = saved_errno;
    return shielded;
}

} // namespace detail

// -- registration ---------------------------------------------------------------

shielded_range::shielded_range(std::byte* begin, std::size_t size, int prot,
                               std::size_t granule, const std::string* label) {
    detail::install_sigbus_handler();
    const std::scoped_lock lock(registry_mutex);
    start_once();
    slot_ = take_slot();
    if (slot_ == none) {
        return;
    }
    slot& s = slots[slot_];
    s.prot.store(prot);
    s.granule.store(std::max(granule, page_size()));
    labels[slot_] = label;
    s.end.store(reinterpret_cast<std::uintptr_t>(begin + size),
                std::memory_order_release);
    s.begin.store(reinterpret_cast<std::uintptr_t>(begin), std::memory_order_release);
}

shielded_range::~shielded_range() {
    reset();
}

shielded_range::shielded_range(shielded_range&& other) noexcept
    : slot_(std::exchange(other.slot_, none)) {}

shielded_range& shielded_range::operator=(shielded_range&& other) noexcept {
    if (this != &other) {
        reset();
        slot_ = std::exchange(other.slot_, none);
    }
    return *this;
}

void shielded_range::reset() noexcept {
    if (slot_ == none) {
        return;
    }
    const std::scoped_lock lock(registry_mutex);
    clear(slots[slot_]);
    labels[slot_] = nullptr;
    free_slots->push_back(slot_);
    slot_ = none;
}

void shielded_range::move_to(std::byte* begin, std::size_t size) noexcept {
    if (slot_ == none) {
        return;
    }
    slot& s = slots[slot_];
    // Never a moment where the range covers memory it does not hold.
    s.begin.store(0, std::memory_order_release);
    s.end.store(reinterpret_cast<std::uintptr_t>(begin + size),
                std::memory_order_release);
    s.begin.store(reinterpret_cast<std::uintptr_t>(begin), std::memory_order_release);
}

void shielded_range::allow(int prot) noexcept {
    if (slot_ != none) {
        slots[slot_].prot.fetch_or(prot);
    }
}

void shielded_range::watch_file(int fd, off_t offset) noexcept {
    if (slot_ != none) {
        slots[slot_].file_offset.store(offset);
        slots[slot_].fd_plus_one.store(fd + 1);
    }
}

std::optional<shield_damage> shielded_range::damage() const noexcept {
    if (slot_ == none) {
        return std::nullopt;
    }
    const slot& s = slots[slot_];
    const std::uintptr_t first = s.first_plus_one.load();
    if (first == 0) {
        return std::nullopt;
    }
    return shield_damage{first - 1, s.faults.load()};
}

std::optional<std::int64_t> shielded_range::file_size() const noexcept {
    return slot_ == none ? std::nullopt : watched_size(slots[slot_]);
}

// -- reports ----------------------------------------------------------------------

std::vector<unsigned long> wait_for_shielded_faults() {
    int fd = -1;
    {
        const std::scoped_lock lock(registry_mutex);
        start_once();
        fd = event_fd.load();
    }
    std::uint64_t count = 0;
    while (::read(fd, &count, sizeof count) < 0) {
        if (errno != EINTR) {
            throw_errno("read", "the fault shield's eventfd");
        }
    }
    std::vector<unsigned long> threads;
    const std::scoped_lock lock(registry_mutex);
    const std::uint32_t next = ring_next.load();
    for (std::uint32_t i = std::max(ring_seen, next - std::min(next, ring_size));
         i != next; ++i) {
        const unsigned long thread = faulted_threads[i % ring_size].load();
        if (std::find(threads.begin(), threads.end(), thread) == threads.end()) {
            threads.push_back(thread);
        }
    }
    ring_seen = next;
    return threads;
}

std::string describe_damage(const std::string& label, std::size_t size,
                            const shield_damage& damage,
                            std::optional<std::int64_t> file_size,
                            std::int64_t file_offset) {
    const std::string what = label.empty() ? "anonymous memory" : label;
    const std::int64_t reach = file_offset + static_cast<std::int64_t>(size);
    const std::string cause =
        file_size && *file_size < reach
            ? "the file shrank to " + std::to_string(*file_size) +
                  " bytes after it was mapped (the mapping reaches byte " +
                  std::to_string(reach) + ")"
            : "its file was truncated after it was mapped, or its filesystem is full";
    return "the mapping of " + what + " (" + std::to_string(size) +
           " bytes) lost its memory from byte " + std::to_string(damage.first) + ": " +
           cause +
           ". memshare put zero-filled pages in place of the lost ones: reads there "
           "give zeros, and writes there are lost. Close the mapping (and its "
           "arrays) and map the file again";
}

std::string take_damage_report() {
    std::string report;
    const std::scoped_lock lock(registry_mutex);
    const std::uint32_t used = high_water.load();
    for (std::uint32_t i = 0; i < used; ++i) {
        slot& s = slots[i];
        const std::uint64_t faults = s.faults.load();
        if (labels[i] == nullptr || faults == s.reported.load()) {
            continue;
        }
        s.reported.store(faults);
        const std::size_t size = s.end.load() - s.begin.load();
        const shield_damage damage{s.first_plus_one.load() - 1, faults};
        report += (report.empty() ? "" : "; ") +
                  describe_damage(*labels[i], size, damage, watched_size(s),
                                  s.file_offset.load());
    }
    return report.empty() ? "memshare replaced pages of a mapping whose memory was lost"
                          : report;
}

} // namespace memshare
