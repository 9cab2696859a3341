#include <memshare/sync/shared_atomic.hpp>

namespace memshare {

static_assert(std::atomic_ref<std::int64_t>::is_always_lock_free,
              "other processes could not see a lock-based atomic's lock");

shared_atomic shared_atomic::make(std::byte* cell, std::int64_t value) noexcept {
    shared_atomic atomic(cell);
    atomic.store(value);
    stamp_header(cell, sync_kind::atomic_int);
    return atomic;
}

shared_atomic shared_atomic::attach(std::byte* cell) {
    check_header(cell, sync_kind::atomic_int);
    return shared_atomic(cell);
}

} // namespace memshare
