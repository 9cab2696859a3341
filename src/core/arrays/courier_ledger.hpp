// The ledger a process shares with its courier (see courier.hpp): a slot
// per anonymous segment the process has offered, in which it counts the
// handles of that segment it sends.  Counting is one atomic add, where an
// offer is a sendmsg(); and the courier can read the count even after the
// process died, so it knows when every handle sent has been received and
// its copy of the descriptor may go.
//
// A slot is taken by the process (free -> offered, with a new generation)
// and given back by the courier once it has dropped its copy, or refused
// the offer (offered -> free).  A token names the courier's key, the slot
// and its generation, so that a handle to a slot given back and taken again
// names nothing.
#pragma once

#include "arrays/courier_protocol.hpp"

#include <memshare/base/unique_fd.hpp>
#include <memshare/mapping/region.hpp>

#include <atomic>
#include <cstdint>

namespace memshare::detail {

struct ledger_slot {
    std::atomic<std::uint64_t> sends;      // written by the process
    std::atomic<std::uint32_t> generation; // written by the process
    std::atomic<std::uint32_t> state;      // slot_free or slot_offered
};
// Shared between processes: the atomics must not hide a lock.
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

inline constexpr std::uint32_t slot_free = 0;
inline constexpr std::uint32_t slot_offered = 1;

// More anonymous segments than a process can hold descriptors for.
inline constexpr std::uint32_t ledger_slots = 1U << 16;

class courier_ledger {
public:
    courier_ledger() noexcept = default;
    // Maps the ledger memfd `fd`.
    explicit courier_ledger(int fd);
    // A new, zeroed ledger memfd.
    [[nodiscard]] static unique_fd create();

    explicit operator bool() const noexcept { return static_cast<bool>(region_); }
    [[nodiscard]] ledger_slot& operator[](std::uint32_t slot) const noexcept;
    void reset() noexcept { region_.reset(); }

private:
    Region region_;
};

// The slot a token names, or ledger_slots if none.
[[nodiscard]] std::uint32_t slot_of(const courier_token& token) noexcept;
// A token of `key` (its first bytes), `slot` and `generation`.
[[nodiscard]] courier_token token_of(const courier_token& key, std::uint32_t slot,
                                     std::uint32_t generation) noexcept;

} // namespace memshare::detail
