#include <memshare/base/error.hpp>
#include <memshare/base/process.hpp>
#include <memshare/shm/segments.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <string_view>

namespace memshare {
namespace {

namespace fs = std::filesystem;

// Which processes map each segment, from every /proc/PID/maps we may read.
std::map<std::string, std::vector<pid_t>> mappers() {
    const std::string prefix = std::string(shm_directory) + "/";
    std::map<std::string, std::vector<pid_t>> by_name;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string pid_text = entry.path().filename().string();
        if (!std::all_of(pid_text.begin(), pid_text.end(),
                         [](char c) { return c >= '0' && c <= '9'; })) {
            continue;
        }
        const auto pid = static_cast<pid_t>(std::stol(pid_text));
        std::ifstream maps(entry.path() / "maps");
        std::string line;
        while (std::getline(maps, line)) {
            const auto at = line.find(prefix);
            // A removed segment that is still mapped shows as "... (deleted)".
            if (at == std::string::npos || line.ends_with(" (deleted)")) {
                continue;
            }
            auto& pids = by_name[line.substr(at + prefix.size())];
            if (pids.empty() || pids.back() != pid) {
                pids.push_back(pid);
            }
        }
    }
    return by_name;
}

segment_info describe(const std::string& name, const struct stat& st) {
    segment_info info;
    info.name = name;
    info.size = st.st_size;
    info.uid = st.st_uid;
    info.gid = st.st_gid;
    info.mode = st.st_mode & 07777;
    info.modified_ns = st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
    info.record = read_record(std::string(shm_directory) + "/" + name);
    info.creator_alive =
        info.record && process_alive(info.record->creator, info.record->creator_start);
    return info;
}

} // namespace

std::vector<segment_info> list_segments() {
    std::vector<segment_info> segments;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(shm_directory, ec)) {
        struct stat st{};
        if (::lstat(entry.path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
            segments.push_back(describe(entry.path().filename().string(), st));
        }
    }
    if (ec) {
        throw os_error(ec.value(), "opendir", std::string(shm_directory));
    }
    auto by_name = mappers();
    for (auto& segment : segments) {
        segment.mapped_by = std::move(by_name[segment.name]);
    }
    std::sort(segments.begin(), segments.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    return segments;
}

segment_info describe_segment(const shm_name& name) {
    struct stat st{};
    if (::lstat(name.file().c_str(), &st) != 0) {
        throw_errno("stat", name.bare());
    }
    segment_info info = describe(name.bare(), st);
    info.mapped_by = std::move(mappers()[name.bare()]);
    return info;
}

} // namespace memshare
