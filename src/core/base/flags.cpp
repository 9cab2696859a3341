#include "base/linux_abi.hpp"

#include <memshare/base/error.hpp>
#include <memshare/base/flags.hpp>

#include <sys/utsname.h>

#include <array>
#include <cerrno>
#include <cstdio>

namespace memshare {
namespace {

constexpr std::array prot_table{
    named_constant{"PROT_NONE", PROT_NONE},
    named_constant{"PROT_READ", PROT_READ},
    named_constant{"PROT_WRITE", PROT_WRITE},
    named_constant{"PROT_EXEC", PROT_EXEC},
};

// The type field of the flags comes first: describe_map_flags() relies on it.
constexpr std::array map_table{
    named_constant{"MAP_SHARED", MAP_SHARED},
    named_constant{"MAP_PRIVATE", MAP_PRIVATE},
    named_constant{"MAP_SHARED_VALIDATE", MAP_SHARED_VALIDATE},
    named_constant{"MAP_DROPPABLE", MAP_DROPPABLE},
    named_constant{"MAP_ANONYMOUS", MAP_ANONYMOUS},
    named_constant{"MAP_ANON", MAP_ANONYMOUS},
    named_constant{"MAP_POPULATE", MAP_POPULATE},
    named_constant{"MAP_NORESERVE", MAP_NORESERVE},
    named_constant{"MAP_LOCKED", MAP_LOCKED},
    named_constant{"MAP_HUGETLB", MAP_HUGETLB},
    named_constant{"MAP_NONBLOCK", MAP_NONBLOCK},
    named_constant{"MAP_STACK", MAP_STACK},
    named_constant{"MAP_SYNC", MAP_SYNC},
    named_constant{"MAP_DENYWRITE", MAP_DENYWRITE},
    named_constant{"MAP_EXECUTABLE", MAP_EXECUTABLE},
#ifdef MAP_32BIT
    named_constant{"MAP_32BIT", MAP_32BIT},
#endif
    named_constant{"MAP_FIXED_NOREPLACE", MAP_FIXED_NOREPLACE},
    named_constant{"MAP_HUGE_SHIFT", MAP_HUGE_SHIFT},
    named_constant{"MAP_HUGE_MASK", MAP_HUGE_MASK},
    named_constant{"MAP_HUGE_2MB", 21 << MAP_HUGE_SHIFT},
    named_constant{"MAP_HUGE_1GB", 30 << MAP_HUGE_SHIFT},
};
constexpr std::size_t map_type_entries = 4;

constexpr std::array msync_table{
    named_constant{"MS_ASYNC", MS_ASYNC},
    named_constant{"MS_SYNC", MS_SYNC},
    named_constant{"MS_INVALIDATE", MS_INVALIDATE},
};

constexpr std::array memfd_table{
    named_constant{"MFD_CLOEXEC", MFD_CLOEXEC},
    named_constant{"MFD_ALLOW_SEALING", MFD_ALLOW_SEALING},
    named_constant{"MFD_HUGETLB", MFD_HUGETLB},
    named_constant{"MFD_NOEXEC_SEAL", MFD_NOEXEC_SEAL},
    named_constant{"MFD_EXEC", MFD_EXEC},
    named_constant{"F_SEAL_SEAL", F_SEAL_SEAL},
    named_constant{"F_SEAL_SHRINK", F_SEAL_SHRINK},
    named_constant{"F_SEAL_GROW", F_SEAL_GROW},
    named_constant{"F_SEAL_WRITE", F_SEAL_WRITE},
    named_constant{"F_SEAL_FUTURE_WRITE", F_SEAL_FUTURE_WRITE},
    named_constant{"F_SEAL_EXEC", F_SEAL_EXEC},
};

constexpr std::array advice_table{
    advice_info{"MADV_NORMAL", MADV_NORMAL, advice_effect::hint, "2.4"},
    advice_info{"MADV_RANDOM", MADV_RANDOM, advice_effect::hint, "2.4"},
    advice_info{"MADV_SEQUENTIAL", MADV_SEQUENTIAL, advice_effect::hint, "2.4"},
    advice_info{"MADV_WILLNEED", MADV_WILLNEED, advice_effect::hint, "2.4"},
    advice_info{"MADV_DONTNEED", MADV_DONTNEED, advice_effect::discard, "2.4"},
    advice_info{"MADV_FREE", MADV_FREE, advice_effect::discard, "4.5"},
    advice_info{"MADV_REMOVE", MADV_REMOVE, advice_effect::discard, "2.6.16"},
    advice_info{"MADV_DONTFORK", MADV_DONTFORK, advice_effect::set_dontfork, "2.6.16"},
    advice_info{"MADV_DOFORK", MADV_DOFORK, advice_effect::clear_dontfork, "2.6.16"},
    advice_info{"MADV_MERGEABLE", MADV_MERGEABLE, advice_effect::hint, "2.6.32"},
    advice_info{"MADV_UNMERGEABLE", MADV_UNMERGEABLE, advice_effect::hint, "2.6.32"},
    advice_info{"MADV_HUGEPAGE", MADV_HUGEPAGE, advice_effect::hint, "2.6.38"},
    advice_info{"MADV_NOHUGEPAGE", MADV_NOHUGEPAGE, advice_effect::hint, "2.6.38"},
    advice_info{"MADV_DONTDUMP", MADV_DONTDUMP, advice_effect::hint, "3.4"},
    advice_info{"MADV_DODUMP", MADV_DODUMP, advice_effect::hint, "3.4"},
    advice_info{"MADV_WIPEONFORK", MADV_WIPEONFORK, advice_effect::child_attribute,
                "4.14"},
    advice_info{"MADV_KEEPONFORK", MADV_KEEPONFORK, advice_effect::child_attribute,
                "4.14"},
    advice_info{"MADV_COLD", MADV_COLD, advice_effect::hint, "5.4"},
    advice_info{"MADV_PAGEOUT", MADV_PAGEOUT, advice_effect::hint, "5.4"},
    advice_info{"MADV_POPULATE_READ", MADV_POPULATE_READ, advice_effect::populate_read,
                "5.14"},
    advice_info{"MADV_POPULATE_WRITE", MADV_POPULATE_WRITE,
                advice_effect::populate_write, "5.14"},
    advice_info{"MADV_DONTNEED_LOCKED", MADV_DONTNEED_LOCKED, advice_effect::discard,
                "5.18"},
    advice_info{"MADV_COLLAPSE", MADV_COLLAPSE, advice_effect::hint, "6.1"},
    advice_info{"MADV_HWPOISON", MADV_HWPOISON, advice_effect::refused, "2.6.32"},
    advice_info{"MADV_SOFT_OFFLINE", MADV_SOFT_OFFLINE, advice_effect::hint, "2.6.33"},
    advice_info{"MADV_GUARD_INSTALL", MADV_GUARD_INSTALL, advice_effect::set_guard,
                "6.13"},
    advice_info{"MADV_GUARD_REMOVE", MADV_GUARD_REMOVE, advice_effect::clear_guard,
                "6.13"},
};

constexpr std::array<named_constant, advice_table.size()> make_madvise_constants() {
    std::array<named_constant, advice_table.size()> out{};
    for (std::size_t i = 0; i < advice_table.size(); ++i) {
        out[i] = {advice_table[i].name, advice_table[i].value};
    }
    return out;
}
constexpr auto madvise_table = make_madvise_constants();

std::string hex(unsigned bits) {
    std::array<char, 16> text{};
    std::snprintf(text.data(), text.size(), "0x%x", bits);
    return text.data();
}

[[noreturn]] void invalid(const std::string& call, std::string why) {
    throw os_error(EINVAL, call, {}, std::move(why));
}

void append_flag(std::string& text, const std::string& name) {
    if (name.empty()) {
        return;
    }
    if (!text.empty()) {
        text += '|';
    }
    text += name;
}

// Names of the single-bit constants in `table` that `bits` holds, joined by
// "|", followed by any bits left unnamed.
std::string describe_bits(unsigned bits, std::span<const named_constant> table) {
    std::string text;
    for (const auto& [name, value] : table) {
        const auto flag = static_cast<unsigned>(value);
        if (flag != 0 && (flag & (flag - 1)) == 0 && (bits & flag) != 0) {
            append_flag(text, name);
            bits &= ~flag;
        }
    }
    if (bits != 0) {
        append_flag(text, hex(bits));
    }
    return text;
}

// MAP_HUGE_2MB, MAP_HUGE_1GB, ...: the name of the huge page size field of
// mmap() flags (log2 of the size; linux/mman.h spells each as this).
std::string huge_size_flag(unsigned shift) {
    if (shift >= 30) {
        return "MAP_HUGE_" + std::to_string(1U << (shift - 30)) + "GB";
    }
    if (shift >= 20) {
        return "MAP_HUGE_" + std::to_string(1U << (shift - 20)) + "MB";
    }
    return "MAP_HUGE_" + std::to_string(1U << (shift >= 10 ? shift - 10 : 0)) + "KB";
}

} // namespace

std::span<const named_constant> prot_constants() noexcept {
    return prot_table;
}
std::span<const named_constant> map_constants() noexcept {
    return map_table;
}
std::span<const named_constant> msync_constants() noexcept {
    return msync_table;
}
std::span<const named_constant> madvise_constants() noexcept {
    return madvise_table;
}
std::span<const named_constant> memfd_constants() noexcept {
    return memfd_table;
}

const advice_info* find_advice(int value) noexcept {
    for (const auto& info : advice_table) {
        if (info.value == value) {
            return &info;
        }
    }
    return nullptr;
}

void check_prot(int prot, const std::string& call) {
    const auto unknown =
        static_cast<unsigned>(prot) & ~unsigned{PROT_READ | PROT_WRITE | PROT_EXEC};
    if (unknown != 0) {
        invalid(call, "unknown PROT_ bits " + hex(unknown));
    }
}

void check_map_flags(int flags) {
    const auto bits = static_cast<unsigned>(flags);
    const unsigned type = bits & MAP_TYPE;
    if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE &&
        type != MAP_DROPPABLE) {
        invalid("mmap", "flags must include MAP_SHARED or MAP_PRIVATE");
    }
    if ((bits & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0) {
        invalid("mmap", "MAP_FIXED and MAP_FIXED_NOREPLACE place a mapping at a chosen "
                        "address; memshare lets the kernel choose, so that no existing "
                        "mapping is replaced");
    }
    if ((bits & MAP_GROWSDOWN) != 0) {
        invalid("mmap", "MAP_GROWSDOWN mappings grow when touched below their start, "
                        "which memshare cannot check");
    }
    const unsigned huge_size = bits & (unsigned{MAP_HUGE_MASK} << MAP_HUGE_SHIFT);
    if (huge_size != 0 && (bits & MAP_HUGETLB) == 0) {
        invalid("mmap", "a MAP_HUGE_* page size needs MAP_HUGETLB");
    }
    if ((bits & MAP_HUGETLB) != 0 && (bits & MAP_NORESERVE) != 0) {
        invalid("mmap", "MAP_HUGETLB with MAP_NORESERVE raises SIGBUS when the huge "
                        "page pool runs dry; memshare refuses it");
    }
    unsigned known = MAP_TYPE | huge_size;
    for (std::size_t i = map_type_entries; i < map_table.size(); ++i) {
        const auto flag = static_cast<unsigned>(map_table[i].value);
        if ((flag & (flag - 1)) == 0) {
            known |= flag;
        }
    }
    const unsigned unknown = bits & ~known;
    if (unknown != 0) {
        invalid("mmap", "unknown MAP_ flag bits " + hex(unknown));
    }
}

void check_msync_flags(int flags) {
    const auto bits = static_cast<unsigned>(flags);
    const unsigned unknown = bits & ~unsigned{MS_ASYNC | MS_SYNC | MS_INVALIDATE};
    if (unknown != 0) {
        invalid("msync", "unknown MS_ flag bits " + hex(unknown));
    }
    if ((bits & MS_SYNC) != 0 && (bits & MS_ASYNC) != 0) {
        invalid("msync", "MS_SYNC and MS_ASYNC exclude each other");
    }
}

std::string describe_prot(int prot) {
    return prot == PROT_NONE ? "PROT_NONE"
                             : describe_bits(static_cast<unsigned>(prot), prot_table);
}

std::string describe_map_flags(int flags) {
    const auto bits = static_cast<unsigned>(flags);
    std::string text = hex(bits & MAP_TYPE);
    for (std::size_t i = 0; i < map_type_entries; ++i) {
        if (static_cast<unsigned>(map_table[i].value) == (bits & MAP_TYPE)) {
            text = map_table[i].name;
        }
    }
    // The huge page size is a field, not bits: named as a whole.
    constexpr unsigned size_field = unsigned{MAP_HUGE_MASK} << MAP_HUGE_SHIFT;
    append_flag(text, describe_bits(bits & ~unsigned{MAP_TYPE} & ~size_field,
                                    std::span(map_table).subspan(map_type_entries)));
    if ((bits & size_field) != 0) {
        append_flag(text, huge_size_flag((bits & size_field) >> MAP_HUGE_SHIFT));
    }
    return text;
}

std::string kernel_release() {
    utsname names{};
    ::uname(&names);
    return names.release;
}

} // namespace memshare
