#include <memshare/base/process.hpp>
#include <memshare/sync/shared_condition.hpp>

#include <cstring>
#include <stdexcept>
#include <string>

namespace memshare {

shared_condition::shared_condition(std::byte* cell, std::uint32_t slots) noexcept
    : next_ticket_(reinterpret_cast<std::uint32_t*>(cell + sizeof(sync_header))),
      slots_base_(cell + head_size), slots_(slots) {}

shared_condition::slot_words&
shared_condition::slot_at(std::uint32_t slot) const noexcept {
    return *reinterpret_cast<slot_words*>(slots_base_ + std::size_t{slot} * slot_size);
}

shared_condition shared_condition::make(std::byte* cell, std::uint32_t slots) noexcept {
    std::memset(cell + sizeof(sync_header), 0, cell_size(slots) - sizeof(sync_header));
    auto* count = reinterpret_cast<std::uint32_t*>(cell + sizeof(sync_header)) + 1;
    shared_word(*count).store(slots);
    stamp_header(cell, sync_kind::condition);
    return {cell, slots};
}

std::uint32_t shared_condition::slots_in(std::byte* cell) {
    check_header(cell, sync_kind::condition);
    auto* count = reinterpret_cast<std::uint32_t*>(cell + sizeof(sync_header)) + 1;
    return shared_word(*count).load();
}

shared_condition shared_condition::attach(std::byte* cell, std::size_t available) {
    const std::uint32_t slots = slots_in(cell);
    if (cell_size(slots) > available) {
        throw std::invalid_argument("the Condition there has " + std::to_string(slots) +
                                    " waiter slots, which need " +
                                    std::to_string(cell_size(slots)) + " bytes; only " +
                                    std::to_string(available) + " are left");
    }
    return {cell, slots};
}

std::optional<std::uint32_t> shared_condition::enlist() noexcept {
    for (int round = 0; round < 2; ++round) {
        for (std::uint32_t i = 0; i < slots_; ++i) {
            slot_words& slot = slot_at(i);
            std::uint32_t expected = free_slot;
            if (shared_word(slot.state).compare_exchange_strong(expected, claimed)) {
                shared_word(slot.ticket).store(shared_word(*next_ticket_).fetch_add(1));
                const process_mark waiter = this_process();
                shared_word(slot.pid).store(waiter.pid);
                shared_word(slot.start).store(waiter.start);
                shared_word(slot.state).store(waiting); // now notifiers see it
                return i;
            }
        }
        reclaim_dead(); // then look once more
    }
    return std::nullopt;
}

bool shared_condition::leave(std::uint32_t slot) noexcept {
    return shared_word(slot_at(slot).state).exchange(free_slot) == notified;
}

std::uint32_t shared_condition::notify(std::uint32_t count) noexcept {
    std::uint32_t woken = 0;
    while (woken < count) {
        // The oldest waiting slot: the one whose ticket is furthest behind
        // the next (tickets wrap around, differences do not).
        const std::uint32_t next = shared_word(*next_ticket_).load();
        std::optional<std::uint32_t> oldest;
        std::uint32_t oldest_age = 0;
        for (std::uint32_t i = 0; i < slots_; ++i) {
            slot_words& slot = slot_at(i);
            if (shared_word(slot.state).load() != waiting) {
                continue;
            }
            const std::uint32_t age = next - shared_word(slot.ticket).load();
            if (!oldest || age > oldest_age) {
                oldest = i;
                oldest_age = age;
            }
        }
        if (!oldest) {
            break;
        }
        slot_words& slot = slot_at(*oldest);
        std::uint32_t expected = waiting;
        if (waiter_ended(slot)) {
            // Its waiter was killed: the slot is free again, and no wake-up
            // goes to waste on it.
            shared_word(slot.state).compare_exchange_strong(expected, free_slot);
            continue;
        }
        if (shared_word(slot.state).compare_exchange_strong(expected, notified)) {
            futex_wake(slot.state, 1);
            ++woken;
        }
    }
    return woken;
}

bool shared_condition::waiter_ended(slot_words& slot) noexcept {
    return has_ended({shared_word(slot.pid).load(), shared_word(slot.start).load()});
}

void shared_condition::reclaim_dead() noexcept {
    for (std::uint32_t i = 0; i < slots_; ++i) {
        slot_words& slot = slot_at(i);
        std::uint32_t state = shared_word(slot.state).load();
        if (state != waiting && state != notified) {
            continue;
        }
        if (waiter_ended(slot)) {
            shared_word(slot.state).compare_exchange_strong(state, free_slot);
        }
    }
}

} // namespace memshare
