// The core of memshare.Queue: a ring of bytes in shared memory holding
// records (a payload and a byte of flags), first in first out, for any
// number of processes putting and taking.
//
// A shared_lock guards the ring, held only to copy one record in or out.
// The ring's indices are kept twice, and the store of one word commits the
// copy just written: a put or take copies its record, writes the next
// indices into the spare copy, then commits.  So a process killed at any
// instruction leaves the ring as it was before its operation or after it,
// never in between: a producer killed mid-put loses only its own record, a
// consumer killed mid-take loses nothing (the record stays for the next).
//
// Waiters sleep on one of two futex words, bumped by every put (items) and
// every take (room); between slices they also look at the indices, so that
// a process killed after committing and before bumping strands nobody.
//
// The indices also count the records ever taken, so a record's place in
// the queue's history is its number (1 for the first ever put, which is
// the first taken).  A taker may have that number written to a claim word
// of its own before its take commits: whoever watches the taker can then
// tell, if it dies, which record it had (see memshare.pool).
#pragma once

#include <memshare/sync/futex.hpp>
#include <memshare/sync/shared_lock.hpp>
#include <memshare/sync/sync_cell.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>

namespace memshare {

class shared_queue {
public:
    // The lock, the words, the two copies of the indices and the limits,
    // then the ring.
    static constexpr std::size_t header_size = 192;
    // Each record starts with its size and flags (one 64-bit word).
    static constexpr std::size_t record_header = 8;
    // A record whose flags have this bit is taken alone: a take of several
    // records stops before it (see memshare.pool's stop records).
    static constexpr std::uint8_t alone = 0x80;
    static constexpr std::size_t smallest_ring = 4 * record_header;

    // A queue over all of `cell` (the ring takes what the header leaves);
    // `maxsize` bounds the records (0: only the ring's size does).
    static shared_queue make(std::span<std::byte> cell, std::uint64_t maxsize);
    // The queue already in `cell`; refused if there is none, or if it is
    // larger than `cell`.
    static shared_queue attach(std::span<std::byte> cell);

    [[nodiscard]] std::uint64_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] std::uint64_t maxsize() const noexcept;
    // The largest payload a record may have.
    [[nodiscard]] std::uint64_t largest() const noexcept {
        return capacity_ - record_header;
    }
    // How many records wait now (without the lock: others may change it).
    // The calls that read the indices throw std::runtime_error if stray
    // writes damaged them.
    [[nodiscard]] std::uint64_t count() const;
    // How many records were ever taken (committed takes).
    [[nodiscard]] std::uint64_t taken() const;
    // Whether some thread holds the lock now (copying a record).
    [[nodiscard]] bool locked() const noexcept { return lock_.locked(); }

    struct record {
        std::uint64_t size;
        std::uint8_t flags;
    };

    // The queue with its lock held: the only way to put and take.  Letting
    // go of it wakes those waiting for what was put or taken meanwhile (once
    // the lock is free for them).
    class held {
    public:
        ~held();
        held(held&& other) noexcept;
        held(const held&) = delete;
        held& operator=(const held&) = delete;
        held& operator=(held&&) = delete;

        // Whether `records` records of `payload` bytes in all fit now.
        [[nodiscard]] bool fits(std::uint64_t payload, std::uint64_t records = 1) const;
        // Appends a record (which fits()).
        void put(std::span<const std::byte> payload, std::uint8_t flags);
        // The oldest record's size and flags, if any.
        [[nodiscard]] std::optional<record> oldest() const;
        // Copies the oldest record's payload into `into` (of its size) and
        // removes it; its number (see above) goes into each word of
        // `claim` before the take commits.
        void take(std::span<std::byte> into, std::span<std::uint64_t> claim = {});
        // The words to wait on once the lock is let go.
        [[nodiscard]] std::uint32_t items_seen() const noexcept;
        [[nodiscard]] std::uint32_t room_seen() const noexcept;

    private:
        friend class shared_queue;
        explicit held(shared_queue& queue) noexcept : queue_(&queue) {}
        shared_queue* queue_;
        std::uint32_t put_ = 0; // records put, taken while held
        std::uint32_t taken_ = 0;
    };

    // The lock, if nobody holds it.
    std::optional<held> try_hold();
    // The lock, waiting for it until `deadline` (nothing past it, or when
    // `interrupted()` says so).  Call without the GIL.
    template <class Interrupted>
    std::optional<held> hold(std::optional<steady_time> deadline,
                             Interrupted&& interrupted);

    // Wakes this queue's takers that sleep or spin, as a put would, without
    // putting anything: they look again, and go back to waiting unless
    // they were told to stop by other means.
    void wake_takers() noexcept;

    // Waits, without the lock, for a put after the one `seen` tells of, or
    // for a record to be there; spinning first if `spin` (and nobody else
    // spins).
    template <class Interrupted>
    wait_outcome wait_for_items(std::uint32_t seen, std::optional<steady_time> deadline,
                                Interrupted&& interrupted, bool spin = true);
    // Waits, without the lock, for a take after the one `seen` tells of, or
    // for room for `records` records of `payload` bytes in all.
    template <class Interrupted>
    wait_outcome
    wait_for_room(std::uint32_t seen, std::uint64_t payload, std::uint64_t records,
                  std::optional<steady_time> deadline, Interrupted&& interrupted);

private:
    struct indices {
        std::uint64_t head; // where the oldest record starts
        std::uint64_t tail; // where the next record goes
        std::uint64_t used; // bytes of records
        std::uint64_t count;
        std::uint64_t taken; // records ever taken
    };
    static_assert(sizeof(indices) == 40);
    // How many wait for items, or for room.
    struct waiters {
        std::uint32_t spinning;
        std::uint32_t sleeping;
    };
    struct words {
        std::uint32_t commit; // its low bit: which copy of the indices holds
        std::uint32_t items;  // bumped by every put
        std::uint32_t room;   // bumped by every take
        std::uint32_t unused;
        waiters takers;
        waiters putters;
    };
    static_assert(sizeof(words) == 32);

    shared_queue(std::byte* cell, std::uint64_t capacity) noexcept;
    [[nodiscard]] indices current() const;
    [[nodiscard]] std::runtime_error damaged(const std::string& what) const;
    void commit(const indices& next) noexcept;
    [[nodiscard]] bool fits(const indices& now, std::uint64_t payload,
                            std::uint64_t records) const noexcept;
    // Copies between the ring and memory, wrapping around its end: where
    // the copy ended.
    std::uint64_t copy_in(std::uint64_t at, std::span<const std::byte> from);
    std::uint64_t copy_out(std::uint64_t at, std::span<std::byte> into);
    // Spins (if `spin` and no other of `waiting` does: with more processes
    // than CPUs, spinners would take the CPU from those they wait for), then
    // sleeps while `word` holds `seen` and `ready()` is false, counted in
    // `waiting` either way.  A waiter that leaves without seeing the word
    // change passes on a wake-up it may have taken.
    template <class Ready, class Interrupted>
    wait_outcome wait_for(std::uint32_t& word, std::uint32_t seen, waiters& waiting,
                          Ready&& ready, std::optional<steady_time> deadline,
                          Interrupted&& interrupted, bool spin = true);

    shared_lock lock_;
    words* words_;
    indices* indices_; // two of them
    std::uint64_t* maxsize_;
    std::byte* ring_;
    std::uint64_t capacity_;
};

template <class Interrupted>
std::optional<shared_queue::held>
shared_queue::hold(std::optional<steady_time> deadline, Interrupted&& interrupted) {
    switch (lock_.lock(deadline, interrupted)) {
    case lock_outcome::acquired:
    case lock_outcome::owner_died: // its holder died: the ring is whole
        return held(*this);
    default:
        return std::nullopt;
    }
}

template <class Ready, class Interrupted>
wait_outcome shared_queue::wait_for(std::uint32_t& word, std::uint32_t seen,
                                    waiters& waiting, Ready&& ready,
                                    std::optional<steady_time> deadline,
                                    Interrupted&& interrupted, bool spin) {
    if (spin) {
        const bool first = shared_word(waiting.spinning).fetch_add(1) == 0;
        const bool changed = first && spin_while(word, seen);
        shared_word(waiting.spinning).fetch_sub(1);
        if (changed) {
            return wait_outcome::changed;
        }
    }
    if (ready()) {
        return wait_outcome::changed;
    }
    // Counted before the word is looked at again, as shared_event's waiters.
    shared_word(waiting.sleeping).fetch_add(1);
    const wait_outcome got = sleep_unless(word, seen, ready, deadline, interrupted);
    shared_word(waiting.sleeping).fetch_sub(1);
    if (got != wait_outcome::changed && shared_word(word).load() != seen) {
        futex_wake(word, 1);
    }
    return got;
}

template <class Interrupted>
wait_outcome shared_queue::wait_for_items(std::uint32_t seen,
                                          std::optional<steady_time> deadline,
                                          Interrupted&& interrupted, bool spin) {
    return wait_for(
        words_->items, seen, words_->takers, [this] { return count() != 0; }, deadline,
        interrupted, spin);
}

template <class Interrupted>
wait_outcome shared_queue::wait_for_room(std::uint32_t seen, std::uint64_t payload,
                                         std::uint64_t records,
                                         std::optional<steady_time> deadline,
                                         Interrupted&& interrupted) {
    return wait_for(
        words_->room, seen, words_->putters,
        [=, this] { return fits(current(), payload, records); }, deadline, interrupted);
}

} // namespace memshare
