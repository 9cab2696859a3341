#include <memshare/base/page.hpp>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string_view>

namespace memshare {
namespace {

constexpr std::string_view hugepages_dir = "/sys/kernel/mm/hugepages";

std::string hugepages_entry(std::size_t size) {
    return std::string(hugepages_dir) + "/hugepages-" + std::to_string(size / 1024) +
           "kB";
}

} // namespace

std::size_t page_size() noexcept {
    static const auto size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return size;
}

std::vector<std::size_t> huge_page_sizes() {
    std::vector<std::size_t> sizes;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(hugepages_dir, ec)) {
        const std::string name = entry.path().filename().string();
        std::size_t kib = 0;
        if (std::sscanf(name.c_str(), "hugepages-%zukB", &kib) == 1) {
            sizes.push_back(kib * 1024);
        }
    }
    std::sort(sizes.begin(), sizes.end());
    return sizes;
}

std::size_t default_huge_page_size() {
    std::ifstream meminfo("/proc/meminfo");
    std::string line;
    while (std::getline(meminfo, line)) {
        std::size_t kib = 0;
        if (std::sscanf(line.c_str(), "Hugepagesize: %zu kB", &kib) == 1) {
            return kib * 1024;
        }
    }
    return 0;
}

std::size_t free_huge_pages(std::size_t size) {
    const auto read = [&](const char* name) {
        std::ifstream file(hugepages_entry(size) + name);
        std::size_t count = 0;
        file >> count;
        return count;
    };
    // Free pages include those reserved by mappings not yet touched.
    const std::size_t free = read("/free_hugepages");
    const std::size_t reserved = read("/resv_hugepages");
    return free > reserved ? free - reserved : 0;
}

std::string format_bytes(std::size_t bytes) {
    constexpr std::array<const char*, 7> units = {"bytes", "KiB", "MiB", "GiB",
                                                  "TiB",   "PiB", "EiB"};
    auto value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < units.size()) {
        value /= 1024;
        ++unit;
    }
    std::array<char, 32> text{};
    if (unit == 0 || value == static_cast<double>(static_cast<std::size_t>(value))) {
        std::snprintf(text.data(), text.size(), "%zu %s",
                      static_cast<std::size_t>(value), units[unit]);
    } else {
        std::snprintf(text.data(), text.size(), "%.1f %s", value, units[unit]);
    }
    return text.data();
}

} // namespace memshare
