#include <memshare/shared_event.hpp>

namespace memshare {

shared_event::shared_event(std::byte* cell) noexcept
    : flag_(reinterpret_cast<std::uint32_t*>(cell + sizeof(sync_header))),
      waiters_(flag_ + 1) {}

shared_event shared_event::make(std::byte* cell) noexcept {
    shared_event event(cell);
    shared_word(*event.flag_).store(0);
    shared_word(*event.waiters_).store(0);
    stamp_header(cell, sync_kind::event);
    return event;
}

shared_event shared_event::attach(std::byte* cell) {
    check_header(cell, sync_kind::event);
    return shared_event(cell);
}

void shared_event::set() noexcept {
    if (shared_word(*flag_).exchange(1) == 0 && shared_word(*waiters_).load() != 0) {
        futex_wake_all(*flag_);
    }
}

} // namespace memshare
