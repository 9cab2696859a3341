// What a descriptor refers to, as stat() tells it.
#pragma once

#include <cstdint>

namespace memshare {

// Equal identities are the same memory (or file), whichever process or
// descriptor looks at it.
struct file_identity {
    std::uint64_t device;
    std::uint64_t inode;

    friend bool operator==(const file_identity&, const file_identity&) = default;
};

} // namespace memshare
