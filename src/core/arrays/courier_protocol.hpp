// How a process, its courier and the receivers of its descriptors talk.
//
// Process -> courier (a socket pair, SOCK_SEQPACKET), requests of a verb
// and a token, with no answer.  offer: the first time the process sends an
// anonymous segment, its descriptor (SCM_RIGHTS) under a token naming a
// slot of the ledger (courier_ledger.hpp), where the process then counts
// the handles it sends; a courier with no room for the descriptor
// remembers the token as refused.  withdraw: the process let go of the
// segment; the courier drops its copy once it has counted as many receipts
// as the ledger counts sends.
// Receiver -> courier (a connection to the courier's listening socket,
// SOCK_SEQPACKET, kept for later requests): requests of a verb and a token.
// take: the courier answers one byte, ok with the descriptor attached,
// refused, or unknown (never offered, or dropped since); it counts a
// receipt.  done: the receiver got the descriptor another way (from the
// sender's /proc/PID/fd): a receipt; no answer.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

namespace memshare::detail {

using courier_token = std::array<std::uint8_t, 16>;

inline constexpr std::uint8_t courier_offer = 'O';
inline constexpr std::uint8_t courier_withdraw = 'W';
inline constexpr std::uint8_t courier_take = 'T';
inline constexpr std::uint8_t courier_done = 'D';

inline constexpr std::uint8_t courier_ok = 'K';
inline constexpr std::uint8_t courier_refused = 'R';
inline constexpr std::uint8_t courier_unknown = 'U';

// A request: a verb, then a token.
struct courier_request {
    std::uint8_t verb;
    courier_token token;
};
static_assert(sizeof(courier_request) == 17);

// How often, at most, a courier reads offers, withdrawals and "done"s;
// takes it serves at once.
inline constexpr std::chrono::milliseconds courier_batch_interval{10};

// How long a courier keeps serving after its process ended.
inline constexpr int courier_linger_seconds = 60;

// How many refused tokens a courier remembers, to say why a take fails.
inline constexpr std::size_t courier_refusals_kept = 4096;

} // namespace memshare::detail
