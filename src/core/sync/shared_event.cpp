#include <memshare/sync/shared_event.hpp>

namespace memshare {

shared_event::shared_event(std::byte* cell) noexcept
    : word_(reinterpret_cast<std::uint32_t*>(cell + sizeof(sync_header))),
      waiters_(word_ + 1) {}

shared_event shared_event::make(std::byte* cell) noexcept {
    shared_event event(cell);
    shared_word(*event.word_).store(0);
    shared_word(*event.waiters_).store(0);
    stamp_header(cell, sync_kind::event);
    return event;
}

shared_event shared_event::attach(std::byte* cell) {
    check_header(cell, sync_kind::event);
    return shared_event(cell);
}

void shared_event::set() noexcept {
    shared_word word(*word_);
    std::uint32_t seen = word.load();
    do {
        if ((seen & flag) != 0) {
            return; // set already: its waiters were woken then
        }
    } while (!word.compare_exchange_weak(seen, (seen + 2) | flag));
    if (shared_word(*waiters_).load() != 0) {
        futex_wake_all(*word_);
    }
}

} // namespace memshare
