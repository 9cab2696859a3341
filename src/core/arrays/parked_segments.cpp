#include "mapping/fork_registry.hpp"

#include <memshare/arrays/array_memory.hpp>
#include <memshare/arrays/parked_segments.hpp>
#include <memshare/base/page.hpp>

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace memshare {
namespace {

using clock = std::chrono::steady_clock;

struct kept {
    file_identity identity;
    Mapping mapping;
    clock::time_point until;
};

struct bay {
    std::vector<kept> waiting; // oldest first; never above `places`
    std::size_t places;
    clock::duration linger;
    std::size_t bytes = 0;

    // Takes entry `at` out.
    Mapping take(std::vector<kept>::iterator at) {
        Mapping mapping = std::move(at->mapping);
        bytes -= mapping.length();
        waiting.erase(at);
        return mapping;
    }
};

struct keeping_lot {
    std::mutex mutex;
    bay parked{{}, parking_places, parking_linger};
    bay recycled{{}, recycling_places, recycling_linger};
    bool sweeping = false; // whether the thread that unmaps them runs
};

void lock_for_fork() noexcept;
void unlock_after_fork() noexcept;
void empty_in_child() noexcept;

// Never destroyed: the sweeping thread may still run while static objects
// are destroyed at exit.
keeping_lot& lot() {
    static keeping_lot* const the_lot = [] {
        auto* made = new keeping_lot;
        // Keeping never allocates.
        made->parked.waiting.reserve(parking_places);
        made->recycled.waiting.reserve(recycling_places);
        // The child empties the lot after the regions' own handler ran.
        detail::install_fork_registry_handlers();
        ::pthread_atfork(lock_for_fork, unlock_after_fork, empty_in_child);
        return made;
    }();
    return *the_lot;
}

// fork() keeps the lot consistent: no thread holds its lock meanwhile.
void lock_for_fork() noexcept {
    lot().mutex.lock();
}
void unlock_after_fork() noexcept {
    lot().mutex.unlock();
}

// The child has no sweeping thread, and no use for what its parent kept
// (which holds no lease: unmapping it in the child gives nothing back).
void empty_in_child() noexcept {
    keeping_lot& l = lot();
    l.mutex.unlock();
    l.sweeping = false;
    for (bay* b : {&l.parked, &l.recycled}) {
        b->waiting.clear(); // unmaps: the child is single-threaded
        b->bytes = 0;
    }
}

// Moves what has waited its time out of `b` into `expired`.
void take_expired(bay& b, clock::time_point now, std::vector<Mapping>& expired) {
    while (!b.waiting.empty() && b.waiting.front().until <= now) {
        expired.push_back(b.take(b.waiting.begin()));
    }
}

std::optional<clock::time_point> next_expiry(const keeping_lot& l) {
    std::optional<clock::time_point> next;
    for (const bay* b : {&l.parked, &l.recycled}) {
        if (!b->waiting.empty()) {
            const clock::time_point until = b->waiting.front().until;
            next = next ? std::min(*next, until) : until;
        }
    }
    return next;
}

// Unmaps kept memory as its time runs out, until none is left.
void sweep() noexcept {
    keeping_lot& l = lot();
    std::unique_lock lock(l.mutex);
    std::vector<Mapping> expired;
    while (const std::optional<clock::time_point> until = next_expiry(l)) {
        lock.unlock();
        std::this_thread::sleep_until(*until);
        lock.lock();
        const clock::time_point now = clock::now();
        try {
            take_expired(l.parked, now, expired);
            take_expired(l.recycled, now, expired);
        } catch (...) {
            // No memory for the list: what was taken goes now, the rest later.
        }
        // Unmapped after the lock is let go: munmap of populated memory
        // takes a while, and keeping (with the GIL held) waits for the lock.
        lock.unlock();
        expired.clear();
        lock.lock();
    }
    l.sweeping = false;
}

// Keeps `mapping` in `b` of `l` (locked), starting the sweeper if need be;
// what must go to make room is moved into `evicted`.
void keep(keeping_lot& l, bay& b, std::size_t budget, const file_identity& identity,
          Mapping mapping, std::vector<Mapping>& evicted) {
    if (mapping.length() > budget) {
        evicted.push_back(std::move(mapping));
        return;
    }
    if (!l.sweeping) {
        std::thread(sweep).detach();
        l.sweeping = true;
    }
    while (b.waiting.size() == b.places || b.bytes + mapping.length() > budget) {
        evicted.push_back(b.take(b.waiting.begin()));
    }
    b.bytes += mapping.length();
    b.waiting.push_back({identity, std::move(mapping), clock::now() + b.linger});
}

void keep_in(bay keeping_lot::* which, std::size_t budget,
             const file_identity& identity, Mapping mapping) noexcept {
    std::vector<Mapping> evicted; // unmapped after the lock is let go
    try {
        evicted.reserve(recycling_places + 1);
        keeping_lot& l = lot();
        const std::scoped_lock lock(l.mutex);
        keep(l, l.*which, budget, identity, std::move(mapping), evicted);
    } catch (...) {
        // No thread to unmap it in time: `mapping` is unmapped on return.
    }
}

} // namespace

std::size_t recycling_budget() noexcept {
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const std::size_t ram =
        pages > 0 ? static_cast<std::size_t>(pages) * page_size() : 0;
    return std::min(ram / 8, std::size_t{4} << 30);
}

void park_segment(const file_identity& identity, Mapping mapping) noexcept {
    keep_in(&keeping_lot::parked, SIZE_MAX, identity, std::move(mapping));
}

void recycle_segment(const file_identity& identity, Mapping mapping) noexcept {
    keep_in(&keeping_lot::recycled, recycling_budget(), identity, std::move(mapping));
}

std::optional<kept_segment> unpark_segment(const file_identity& identity,
                                           std::size_t length) {
    keeping_lot& l = lot();
    const std::scoped_lock lock(l.mutex);
    for (bay* b : {&l.parked, &l.recycled}) {
        const auto found = std::ranges::find_if(b->waiting, [&](const kept& k) {
            return k.identity == identity && k.mapping.length() == length;
        });
        if (found != b->waiting.end()) {
            return kept_segment{b->take(found), b == &l.recycled};
        }
    }
    return std::nullopt;
}

std::optional<recycled_segment> reuse_segment(std::size_t length) {
    keeping_lot& l = lot();
    const std::scoped_lock lock(l.mutex);
    std::vector<kept>& waiting = l.recycled.waiting;
    // The smallest free one that fits, wasting at most a quarter of it.
    auto best = waiting.end();
    for (auto at = waiting.begin(); at != waiting.end(); ++at) {
        const std::size_t size = at->mapping.length();
        const bool fits = size >= length && size - length <= length / 4;
        if (fits && lease_of(at->mapping).load(std::memory_order_acquire) == 0 &&
            (best == waiting.end() || size < best->mapping.length())) {
            best = at;
        }
    }
    if (best == waiting.end()) {
        return std::nullopt;
    }
    // With no lease held nobody can send a handle, so the count stays zero,
    // unless a process forked from this one, which kept the same memory,
    // takes it at the same moment: one of the two wins.
    std::uint64_t unleased = 0;
    if (!lease_of(best->mapping)
             .compare_exchange_strong(unleased, 1, std::memory_order_acq_rel)) {
        return std::nullopt;
    }
    const file_identity identity = best->identity;
    return recycled_segment{identity, l.recycled.take(best)};
}

kept_totals kept_segments() {
    keeping_lot& l = lot();
    const std::scoped_lock lock(l.mutex);
    return {l.parked.waiting.size(), l.parked.bytes, l.recycled.waiting.size(),
            l.recycled.bytes};
}

std::size_t release_kept_segments() {
    std::vector<Mapping> released;
    std::size_t bytes = 0;
    {
        keeping_lot& l = lot();
        const std::scoped_lock lock(l.mutex);
        for (bay* b : {&l.parked, &l.recycled}) {
            bytes += b->bytes;
            while (!b->waiting.empty()) {
                released.push_back(b->take(b->waiting.begin()));
            }
        }
    }
    return bytes; // `released` unmaps on return, without the lock
}

} // namespace memshare
