#include <memshare/sync/shared_semaphore.hpp>

#include <algorithm>

namespace memshare {

shared_semaphore::shared_semaphore(std::byte* cell) noexcept
    : value_(reinterpret_cast<std::uint32_t*>(cell + sizeof(sync_header))),
      waiters_(value_ + 1), bound_(value_ + 2) {}

shared_semaphore shared_semaphore::make(std::byte* cell, std::uint32_t value,
                                        std::optional<std::uint32_t> bound) noexcept {
    shared_semaphore semaphore(cell);
    shared_word(*semaphore.value_).store(value);
    shared_word(*semaphore.waiters_).store(0);
    shared_word(*semaphore.bound_).store(bound.value_or(most));
    stamp_header(cell, bound ? sync_kind::bounded_semaphore : sync_kind::semaphore);
    return semaphore;
}

shared_semaphore shared_semaphore::attach(std::byte* cell, sync_kind kind) {
    check_header(cell, kind);
    return shared_semaphore(cell);
}

bool shared_semaphore::try_acquire() noexcept {
    shared_word value(*value_);
    std::uint32_t seen = value.load();
    while (seen > 0) {
        if (value.compare_exchange_weak(seen, seen - 1)) {
            return true;
        }
    }
    return false;
}

bool shared_semaphore::release(std::uint32_t count) noexcept {
    const std::uint32_t limit = bound();
    shared_word value(*value_);
    std::uint32_t seen = value.load();
    do {
        if (count > limit || seen > limit - count) {
            return false;
        }
    } while (!value.compare_exchange_weak(seen, seen + count));
    if (shared_word(*waiters_).load() != 0) {
        futex_wake(*value_, static_cast<int>(std::min<std::uint32_t>(count, most)));
    }
    return true;
}

} // namespace memshare
