// threading.Semaphore and BoundedSemaphore in shared memory: the value, the
// count of those waiting for it to rise, and the largest value allowed.
#pragma once

#include <memshare/sync/futex.hpp>
#include <memshare/sync/sync_cell.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace memshare {

class shared_semaphore {
public:
    static constexpr std::size_t cell_size = 24; // header, value, waiters, bound
    // The largest value (SEM_VALUE_MAX, as multiprocessing's semaphores).
    static constexpr std::uint32_t most = 0x7fffffff;

    // A BoundedSemaphore if `bound` is given (its initial value), else a
    // Semaphore.
    static shared_semaphore make(std::byte* cell, std::uint32_t value,
                                 std::optional<std::uint32_t> bound) noexcept;
    static shared_semaphore attach(std::byte* cell, sync_kind kind);

    [[nodiscard]] std::uint32_t value() const noexcept {
        return shared_word(*value_).load();
    }
    [[nodiscard]] std::uint32_t bound() const noexcept {
        return shared_word(*bound_).load();
    }
    // Takes one if the value is positive.
    bool try_acquire() noexcept;
    // Takes one, waiting for the value to rise until `deadline` (changed:
    // taken).
    template <class Interrupted>
    wait_outcome acquire(std::optional<steady_time> deadline,
                         Interrupted&& interrupted);
    // Adds `count`; false (and nothing added) if that passes the bound or
    // the largest value.
    [[nodiscard]] bool release(std::uint32_t count) noexcept;

private:
    explicit shared_semaphore(std::byte* cell) noexcept;

    std::uint32_t* value_;
    std::uint32_t* waiters_;
    std::uint32_t* bound_;
};

template <class Interrupted>
wait_outcome shared_semaphore::acquire(std::optional<steady_time> deadline,
                                       Interrupted&& interrupted) {
    for (;;) {
        if (try_acquire()) {
            return wait_outcome::changed;
        }
        if (spin_while(*value_, 0)) {
            continue; // counted only to sleep, as shared_event's waiters
        }
        shared_word(*waiters_).fetch_add(1);
        const wait_outcome got = sleep_while(*value_, 0, deadline, interrupted);
        shared_word(*waiters_).fetch_sub(1);
        if (got != wait_outcome::changed) {
            return got;
        }
    }
}

} // namespace memshare
