// The place a synchronization primitive occupies in shared memory: a cell
// of a fixed size, starting with a header that says what it holds, so that
// attaching to the wrong bytes is refused instead of misread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace memshare {

enum class sync_kind : std::uint16_t {
    lock = 1,
    rlock = 2,
    event = 3,
    semaphore = 4,
    bounded_semaphore = 5,
    atomic_int = 6,
    condition = 7,
    barrier = 8,
    queue = 9,
};

// What a cell starts with.  No pointers anywhere in a cell, only values:
// every process maps it at another address.
struct sync_header {
    std::uint32_t magic;
    std::uint16_t version;
    sync_kind kind;
};

inline constexpr std::uint32_t sync_magic = 0x636e7973; // "sync", little-endian
// 2: locks on futex words memshare owns, an Event that counts its sets.
inline constexpr std::uint16_t sync_version = 2;
// Cells start at multiples of this (the alignment of what they hold).
inline constexpr std::size_t sync_alignment = 8;

// "a Lock", "an RLock": for messages.
[[nodiscard]] std::string_view name_of(sync_kind kind) noexcept;

// The first `size` bytes of `memory`, checked to hold a cell of that size at
// an aligned address; std::invalid_argument says what is wrong.
[[nodiscard]] std::byte* cell_in(std::span<std::byte> memory, std::size_t size,
                                 sync_kind kind);

// Refuses (std::invalid_argument) a cell that does not hold a `kind` made
// by this version of memshare.
void check_header(const std::byte* cell, sync_kind kind);

// Marks a cell as holding `kind`, once what follows the header is made.
void stamp_header(std::byte* cell, sync_kind kind) noexcept;

} // namespace memshare
