// POSIX shared memory objects and memfd: names, creation, opening, removal.
#pragma once

#include <memshare/base/file_identity.hpp>
#include <memshare/base/unique_fd.hpp>

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace memshare {

// The directory where Linux keeps POSIX shared memory objects.
inline constexpr std::string_view shm_directory = "/dev/shm";

// A POSIX shared memory name, checked before any call: a leading "/" is
// optional, no other "/", no NUL, not "." or "..", at most NAME_MAX bytes.
class shm_name {
public:
    explicit shm_name(std::string_view name);
    // "ms_" and 12 random hex digits.
    static shm_name random();

    // "name", as users write it and /dev/shm lists it.
    [[nodiscard]] const std::string& bare() const noexcept { return bare_; }
    // "/name", as shm_open() takes it.
    [[nodiscard]] std::string slashed() const { return "/" + bare_; }
    // "/dev/shm/name".
    [[nodiscard]] std::string file() const;

    friend bool operator==(const shm_name&, const shm_name&) = default;

private:
    std::string bare_;
};

// shm_open(3); the descriptor is close-on-exec.
[[nodiscard]] unique_fd shm_open(const shm_name& name, int flags, mode_t mode);

// shm_unlink(3); ends the tracking of the name by this process, if any.
void shm_unlink(const shm_name& name);

struct segment_options {
    std::int64_t size = 0;
    mode_t mode = 0600;  // set exactly, whatever the umask
    bool reserve = true; // allocate the memory now (fallocate), not on first touch
    bool track = true;   // unlink it when this process ends
};

// Creates a segment that did not exist (O_EXCL), sizes it, records who made
// it (an extended attribute), and tracks it if asked.  If any step fails,
// the name is removed again before the error is thrown.
[[nodiscard]] unique_fd create_segment(const shm_name& name,
                                       const segment_options& options);

// Opens an existing segment for reading, or for reading and writing.
[[nodiscard]] unique_fd open_segment(const shm_name& name, bool readonly);

// Allocates the bytes [from, to) of a segment now, so that running out of
// memory fails here (ENOSPC) instead of as a SIGBUS when a page is touched.
void reserve(int fd, std::int64_t from, std::int64_t to, const std::string& target);

// Sets the size of an open segment: growth is reserved if `reserve`.
void resize_segment(int fd, std::int64_t size, bool reserve, const std::string& target);

// What `fd` refers to.
[[nodiscard]] file_identity identity_of(int fd);

// Anonymous shared memory of `size` bytes for arrays: a memfd sealed against
// shrinking and growing, so that no process holding it can truncate the
// memory under another's mapping (which would make its accesses SIGBUS).
[[nodiscard]] unique_fd create_anonymous_memory(std::int64_t size);

// memfd_create(2): anonymous memory with a descriptor; names need not be
// unique and appear only in /proc (as "/memfd:name").
[[nodiscard]] unique_fd memfd_create(std::string_view name, unsigned flags);
// fcntl(F_ADD_SEALS) and fcntl(F_GET_SEALS).
void add_seals(int fd, int seals);
[[nodiscard]] int get_seals(int fd);

} // namespace memshare
