#include <memshare/sync/shared_barrier.hpp>

#include <stdexcept>

namespace memshare {

class shared_barrier::guard {
public:
    explicit guard(shared_barrier& barrier) : barrier_(barrier) {
        switch (barrier_.lock_.lock_briefly()) {
        case lock_outcome::acquired:
            return;
        case lock_outcome::owner_died:
            barrier_.break_now();
            return;
        default:
            throw std::runtime_error(
                "the Barrier's bookkeeping has been locked for over a second: a "
                "process that holds it is stopped, or stray writes damaged its "
                "bytes");
        }
    }
    ~guard() { static_cast<void>(barrier_.lock_.unlock()); }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;

private:
    shared_barrier& barrier_;
};

shared_barrier::shared_barrier(std::byte* cell) noexcept
    : lock_(shared_lock::attach_unchecked(cell)),
      word_(reinterpret_cast<std::uint32_t*>(cell + shared_lock::cell_size)),
      released_(word_ + 1), count_(word_ + 2), parties_(word_ + 3) {}

shared_barrier shared_barrier::make(std::byte* cell, std::uint32_t parties) {
    auto* words = reinterpret_cast<std::uint32_t*>(cell + shared_lock::cell_size);
    shared_word(words[0]).store(0);
    shared_word(words[1]).store(~std::uint32_t{0}); // no generation released yet
    shared_word(words[2]).store(0);
    shared_word(words[3]).store(parties);
    static_cast<void>(shared_lock::make(cell, sync_kind::barrier)); // stamps last
    return shared_barrier(cell);
}

shared_barrier shared_barrier::attach(std::byte* cell) {
    check_header(cell, sync_kind::barrier);
    return shared_barrier(cell);
}

std::optional<shared_barrier::arrival> shared_barrier::arrive() {
    const guard held(*this);
    const std::uint32_t word = shared_word(*word_).load();
    if ((word & 1U) != 0) {
        return std::nullopt;
    }
    const std::uint32_t index = shared_word(*count_).fetch_add(1);
    return arrival{index, word >> 1, index + 1 == shared_word(*parties_).load()};
}

void shared_barrier::complete(std::uint32_t generation, bool released) {
    const guard held(*this);
    if (shared_word(*word_).load() != generation << 1) {
        return; // broken or reset meanwhile
    }
    if (!released) {
        break_now();
        return;
    }
    shared_word(*count_).store(0);
    shared_word(*released_).store(generation);
    shared_word(*word_).store((generation + 1) << 1);
    futex_wake_all(*word_);
}

barrier_end shared_barrier::end_of(std::uint32_t generation) const noexcept {
    return shared_word(*released_).load() == generation ? barrier_end::released
                                                        : barrier_end::broken;
}

void shared_barrier::break_now() noexcept {
    shared_word(*word_).fetch_or(1U);
    futex_wake_all(*word_);
}

void shared_barrier::abort() {
    const guard held(*this);
    break_now();
}

void shared_barrier::reset() {
    const guard held(*this);
    const std::uint32_t generation = shared_word(*word_).load() >> 1;
    shared_word(*count_).store(0);
    // A new generation, not released: whoever waited on the old one finds
    // it broken.
    shared_word(*word_).store((generation + 1) << 1);
    futex_wake_all(*word_);
}

std::uint32_t shared_barrier::parties() const noexcept {
    return shared_word(*parties_).load();
}

std::uint32_t shared_barrier::waiting() {
    const guard held(*this);
    return broken() ? 0 : shared_word(*count_).load();
}

bool shared_barrier::broken() const noexcept {
    return (shared_word(*word_).load() & 1U) != 0;
}

} // namespace memshare
