#include <memshare/sync/sync_cell.hpp>

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <string>

namespace memshare {

std::string_view name_of(sync_kind kind) noexcept {
    switch (kind) {
    case sync_kind::lock:
        return "a Lock";
    case sync_kind::rlock:
        return "an RLock";
    case sync_kind::event:
        return "an Event";
    case sync_kind::semaphore:
        return "a Semaphore";
    case sync_kind::bounded_semaphore:
        return "a BoundedSemaphore";
    case sync_kind::atomic_int:
        return "an AtomicInt";
    case sync_kind::condition:
        return "a Condition";
    case sync_kind::barrier:
        return "a Barrier";
    case sync_kind::queue:
        return "a Queue";
    }
    return "a primitive";
}

std::byte* cell_in(std::span<std::byte> memory, std::size_t size, sync_kind kind) {
    const std::string what(name_of(kind));
    if (memory.size() < size) {
        throw std::invalid_argument(what + " takes " + std::to_string(size) +
                                    " bytes; only " + std::to_string(memory.size()) +
                                    " are left there");
    }
    const auto address = reinterpret_cast<std::uintptr_t>(memory.data());
    if (address % sync_alignment != 0) {
        throw std::invalid_argument(
            what + " must start at a multiple of " + std::to_string(sync_alignment) +
            " bytes; this place is " + std::to_string(address % sync_alignment) +
            " bytes past one");
    }
    return memory.data();
}

void check_header(const std::byte* cell, sync_kind kind) {
    sync_header header{};
    std::memcpy(&header, cell, sizeof header);
    const std::string what(name_of(kind));
    if (header.magic != sync_magic) {
        throw std::invalid_argument("no memshare primitive is there, so not " + what +
                                    ": those bytes hold something else");
    }
    if (header.version != sync_version) {
        throw std::invalid_argument("the primitive there was made by another version "
                                    "of memshare (cell version " +
                                    std::to_string(header.version) + ", this is " +
                                    std::to_string(sync_version) + ")");
    }
    if (header.kind != kind) {
        throw std::invalid_argument(std::string(name_of(header.kind)) +
                                    " is there, not " + what);
    }
}

void stamp_header(std::byte* cell, sync_kind kind) noexcept {
    const sync_header header{sync_magic, sync_version, kind};
    // Whoever sees the header sees what it announces, made before it.
    std::atomic_thread_fence(std::memory_order_release);
    std::memcpy(cell, &header, sizeof header);
}

} // namespace memshare
