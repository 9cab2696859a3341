#include <memshare/base/process.hpp>
#include <memshare/shm/segment_record.hpp>

#include <sys/xattr.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cinttypes>
#include <cstdio>

namespace memshare {
namespace {

constexpr const char* record_format =
    "memshare 1 creator=%d start=%" SCNu64 " created=%" SCNd64 " tracked=%d";

} // namespace

segment_record segment_record::now(bool tracked) {
    const pid_t pid = ::getpid();
    const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    return {pid, process_start_time(pid),
            std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count(),
            tracked};
}

bool write_record(int fd, const segment_record& record) {
    std::array<char, 128> text{};
    const int length = std::snprintf(text.data(), text.size(),
                                     "memshare 1 creator=%d start=%" PRIu64
                                     " created=%" PRId64 " tracked=%d",
                                     record.creator, record.creator_start,
                                     record.created_ns, record.tracked ? 1 : 0);
    return ::fsetxattr(fd, segment_record_attribute, text.data(),
                       static_cast<std::size_t>(length), 0) == 0;
}

std::optional<segment_record> read_record(const std::string& path) {
    std::array<char, 128> text{};
    const ssize_t length = ::getxattr(path.c_str(), segment_record_attribute,
                                      text.data(), text.size() - 1);
    if (length <= 0) {
        return std::nullopt;
    }
    segment_record record;
    int tracked = 0;
    if (std::sscanf(text.data(), record_format, &record.creator, &record.creator_start,
                    &record.created_ns, &tracked) != 4) {
        return std::nullopt;
    }
    record.tracked = tracked != 0;
    return record;
}

} // namespace memshare
