// Small helpers on file descriptors.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>

namespace memshare::detail {

// fstat(), throwing os_error naming `target`.
struct stat stat_of(int fd, const std::string& target);

// "a FIFO", "a directory", ...: the kind of file `mode` (st_mode) says.
std::string file_kind(mode_t mode);

// Refuses memory smaller than the handle that names it says (a damaged
// handle), which would make accesses past its end SIGBUS.
void check_size(const struct stat& st, std::uint64_t size, const std::string& target);

// The path behind a descriptor (from /proc/self/fd), so errors name the file.
std::string path_of(int fd);

// What to add to an EMFILE error: the limit, and what holds descriptors.
std::string descriptor_limit_hint();

} // namespace memshare::detail
