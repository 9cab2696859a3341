#include "fork_registry.hpp"

#include <memshare/parked_segments.hpp>

#include <pthread.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace memshare {
namespace {

using clock = std::chrono::steady_clock;

struct parked {
    file_identity identity;
    Mapping mapping;
    clock::time_point until;
};

struct parking_lot {
    std::mutex mutex;
    std::vector<parked> waiting; // oldest first; never above parking_places
    bool sweeping = false;       // whether the thread that unmaps them runs
};

void lock_for_fork() noexcept;
void unlock_after_fork() noexcept;
void empty_in_child() noexcept;

// Never destroyed: the sweeping thread may still run while static objects
// are destroyed at exit.
parking_lot& lot() {
    static parking_lot* const the_lot = [] {
        auto* made = new parking_lot;
        made->waiting.reserve(parking_places); // parking never allocates
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

// The child has no sweeping thread, and no use for what its parent parked.
void empty_in_child() noexcept {
    parking_lot& l = lot();
    l.mutex.unlock();
    l.sweeping = false;
    l.waiting.clear(); // unmaps: the child is single-threaded
}

// Unmaps parked memory as its time runs out, until none is left.
void sweep() noexcept {
    parking_lot& l = lot();
    std::unique_lock lock(l.mutex);
    while (!l.waiting.empty()) {
        const clock::time_point until = l.waiting.front().until;
        lock.unlock();
        std::this_thread::sleep_until(until);
        // Unmapped after the lock is let go: munmap of populated memory
        // takes a while, and parking (with the GIL held) waits for the lock.
        std::array<std::optional<Mapping>, parking_places> expired;
        lock.lock();
        const clock::time_point now = clock::now();
        auto first_kept = l.waiting.begin();
        for (auto& slot : expired) {
            if (first_kept == l.waiting.end() || first_kept->until > now) {
                break;
            }
            slot.emplace(std::move(first_kept->mapping));
            ++first_kept;
        }
        l.waiting.erase(l.waiting.begin(), first_kept);
        lock.unlock();
        std::ranges::for_each(expired, [](auto& mapping) { mapping.reset(); });
        lock.lock();
    }
    l.sweeping = false;
}

} // namespace

void park_segment(const file_identity& identity, Mapping mapping) noexcept {
    std::optional<Mapping> evicted; // unmapped after the lock is let go
    try {
        parking_lot& l = lot();
        const std::scoped_lock lock(l.mutex);
        if (!l.sweeping) {
            std::thread(sweep).detach();
            l.sweeping = true;
        }
        if (l.waiting.size() == parking_places) {
            evicted.emplace(std::move(l.waiting.front().mapping));
            l.waiting.erase(l.waiting.begin());
        }
        l.waiting.push_back(
            {identity, std::move(mapping), clock::now() + parking_linger});
    } catch (...) {
        // No thread to unmap it in time: `mapping` is unmapped on return.
    }
}

std::optional<Mapping> unpark_segment(const file_identity& identity,
                                      std::size_t length) {
    parking_lot& l = lot();
    const std::scoped_lock lock(l.mutex);
    const auto found = std::ranges::find_if(l.waiting, [&](const parked& p) {
        return p.identity == identity && p.mapping.length() == length;
    });
    if (found == l.waiting.end()) {
        return std::nullopt;
    }
    std::optional<Mapping> taken(std::move(found->mapping));
    l.waiting.erase(found);
    return taken;
}

std::size_t parked_segments() {
    parking_lot& l = lot();
    const std::scoped_lock lock(l.mutex);
    return l.waiting.size();
}

} // namespace memshare
