// A 64-bit integer in shared memory that every process reads and changes
// atomically (lock-free: one instruction each on x86-64 and Arm64).
#pragma once

#include <memshare/sync/sync_cell.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace memshare {

class shared_atomic {
public:
    static constexpr std::size_t cell_size = 16; // header, value

    static shared_atomic make(std::byte* cell, std::int64_t value) noexcept;
    static shared_atomic attach(std::byte* cell);

    [[nodiscard]] std::int64_t load() const noexcept { return word().load(); }
    void store(std::int64_t value) noexcept { word().store(value); }
    // The value before adding (two's complement: it wraps around).
    std::int64_t fetch_add(std::int64_t delta) noexcept {
        return word().fetch_add(delta);
    }
    std::int64_t exchange(std::int64_t value) noexcept {
        return word().exchange(value);
    }
    // Stores `desired` if the value is `expected`; either way, `expected`
    // becomes the value seen.
    bool compare_exchange(std::int64_t& expected, std::int64_t desired) noexcept {
        return word().compare_exchange_strong(expected, desired);
    }

private:
    explicit shared_atomic(std::byte* cell) noexcept
        : value_(reinterpret_cast<std::int64_t*>(cell + sizeof(sync_header))) {}
    [[nodiscard]] std::atomic_ref<std::int64_t> word() const noexcept {
        return std::atomic_ref<std::int64_t>(*value_);
    }

    std::int64_t* value_;
};

} // namespace memshare
