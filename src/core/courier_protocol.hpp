// How a process, its courier and the receivers of its descriptors talk.
//
// Process -> courier (a socket pair, SOCK_SEQPACKET): a token, with the
// descriptor attached (SCM_RIGHTS); the courier answers one byte: ok, or
// refused (it has no room for another descriptor).
// Receiver -> courier (the courier's listening socket, SOCK_STREAM): a
// token; the courier answers one byte, ok with the descriptor attached, or
// unknown (no offer of that token: taken already, or never made).
#pragma once

#include <array>
#include <cstdint>

namespace memshare::detail {

using courier_token = std::array<std::uint8_t, 16>;

inline constexpr std::uint8_t courier_ok = 'K';
inline constexpr std::uint8_t courier_refused = 'R';
inline constexpr std::uint8_t courier_unknown = 'U';

// How long a courier keeps serving after its process ended.
inline constexpr int courier_linger_seconds = 60;

} // namespace memshare::detail
