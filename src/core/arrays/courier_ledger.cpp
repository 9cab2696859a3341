#include "arrays/courier_ledger.hpp"

#include <memshare/base/error.hpp>
#include <memshare/base/page.hpp>
#include <memshare/shm/shm.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

namespace memshare::detail {
namespace {

constexpr std::size_t ledger_bytes = sizeof(ledger_slot) * ledger_slots;
constexpr std::size_t key_bytes = 8; // then the slot, then the generation

} // namespace

courier_ledger::courier_ledger(int fd)
    : region_(ledger_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0, page_size(),
              "memshare-courier ledger") {}

unique_fd courier_ledger::create() {
    // Sparse: a page is only allocated once a slot in it is taken.
    unique_fd fd = memfd_create("memshare-courier-ledger", MFD_CLOEXEC);
    if (::ftruncate(fd.get(), static_cast<off_t>(ledger_bytes)) != 0) {
        throw_errno("ftruncate", "memfd:memshare-courier-ledger");
    }
    return fd;
}

ledger_slot& courier_ledger::operator[](std::uint32_t slot) const noexcept {
    // The memfd starts zeroed: every slot free, with no sends.
    return reinterpret_cast<ledger_slot*>(region_.data())[slot];
}

std::uint32_t slot_of(const courier_token& token) noexcept {
    std::uint32_t slot = 0;
    std::memcpy(&slot, token.data() + key_bytes, sizeof slot);
    return slot < ledger_slots ? slot : ledger_slots;
}

courier_token token_of(const courier_token& key, std::uint32_t slot,
                       std::uint32_t generation) noexcept {
    courier_token token = key;
    std::memcpy(token.data() + key_bytes, &slot, sizeof slot);
    std::memcpy(token.data() + key_bytes + sizeof slot, &generation, sizeof generation);
    return token;
}

} // namespace memshare::detail
