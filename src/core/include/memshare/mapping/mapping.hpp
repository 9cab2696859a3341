// A mapped window of memory that behaves like Python's mmap.mmap.
#pragma once

#include <memshare/base/file_identity.hpp>
#include <memshare/base/unique_fd.hpp>
#include <memshare/mapping/fault_guard.hpp>
#include <memshare/mapping/region.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace memshare {

// The access modes of Python's mmap module, with the same values.
enum class access_mode : int { default_access = 0, read = 1, write = 2, copy = 3 };

// The modes of numpy.memmap: "r", "r+", "w+" and "c".
enum class file_mode { read, read_write, create, copy_on_write };

// A window [data(), data() + length()) onto a Region: a file from any byte
// offset, or anonymous memory.  It keeps mmap.mmap's file position and its
// checks, which turn each misuse into an exception instead of a fault, and
// it counts the pointers it hands out (buffer exports and pins) so that it
// never unmaps, moves or write-protects memory somebody still points into.
//
// Not thread-safe: callers serialize calls (the bindings hold the GIL).  A
// Pin lets one blocking call run while others proceed.
class Mapping {
public:
    class Pin;

    // `count` bytes of the mapping from offset `start`, `step` apart (a
    // resolved slice; contiguous when step is 1).
    struct byte_run {
        std::size_t start;
        std::int64_t step;
        std::size_t count;
    };

    // What a buffer consumer gets: the bytes, and whether it may write them.
    struct exported_buffer {
        std::byte* data;
        std::size_t length;
        bool readonly;
    };

    Mapping() noexcept = default; // closed
    Mapping(Mapping&&) noexcept = default;
    Mapping& operator=(Mapping&&) noexcept = default;
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    // Unmaps, or gives array memory back (see lease_until_dropped()).
    ~Mapping();

    // mmap.mmap(fileno, length, flags, prot, access, offset, trackfd=...),
    // except that any offset is accepted, not only page multiples.
    static Mapping from_fd(int fd, std::int64_t length, int flags, int prot,
                           access_mode access, std::int64_t offset, bool trackfd);
    // Anonymous memory; `extra_flags` adds MAP_POPULATE, MAP_HUGETLB, ...
    static Mapping anonymous_memory(std::int64_t length, bool shared, int prot,
                                    int extra_flags);
    // numpy.memmap-style mapping of a file, by path or by descriptor.  No
    // `length` maps to the end of the file; file_mode::create sizes the file.
    static Mapping from_path(const std::string& path, file_mode mode,
                             std::optional<std::int64_t> length, std::int64_t offset,
                             int extra_flags);
    static Mapping from_file_descriptor(int fd, file_mode mode,
                                        std::optional<std::int64_t> length,
                                        std::int64_t offset, int extra_flags);
    // The first `length` bytes of shared memory `fd`, which the caller knows
    // to hold that many, mapped MAP_SHARED; the mapping keeps `fd` (its
    // fileno()), to send the memory on.  `target` names it in errors
    // (from_fd asks /proc for a name, which costs a path walk).
    static Mapping from_shared_memory(unique_fd fd, std::size_t length, bool readonly,
                                      const std::string& target);

    // -- state ----------------------------------------------------------------
    [[nodiscard]] bool closed() const noexcept { return !region_; }
    // Throws closed_error if the mapping is closed.
    void require_open() const;
    // Unmaps now; refused while pointers are out.  Closing twice is harmless.
    void close();
    // Moves the mapping out, leaving this one closed; refused while pointers
    // are out.
    [[nodiscard]] Mapping take();
    [[nodiscard]] std::byte* data() const;
    [[nodiscard]] std::size_t length() const;
    [[nodiscard]] std::int64_t offset() const;
    [[nodiscard]] int flags() const;
    [[nodiscard]] access_mode access() const;
    [[nodiscard]] bool shared() const;
    [[nodiscard]] bool anonymous() const;
    // The protection every page has (pages may allow more after protect()).
    [[nodiscard]] int prot() const;
    // The file's size, or the length for anonymous memory (mmap.size()).
    [[nodiscard]] std::int64_t size() const;
    // The tracked descriptor, or -1.
    [[nodiscard]] int fileno() const;
    [[nodiscard]] int exports() const noexcept { return exports_; }
    // Array memory (arrays/array_memory.hpp) that this process holds a lease on:
    // once dropped, or closed, the lease goes back, and memory dropped while
    // still mapped waits to be used again instead of being unmapped at once:
    // among the recycled segments if this process made it (`own`), else
    // among the parked ones (arrays/parked_segments.hpp).
    void lease_until_dropped(const file_identity& identity, bool own) noexcept {
        leased_ = identity;
        own_ = own;
    }

    // -- the file-like interface of mmap.mmap ----------------------------------
    // read(), readline() and write() return the bytes to copy (with
    // copy_out() or copy_in()) and advance the position past them.
    [[nodiscard]] std::size_t tell() const;
    std::size_t seek(std::int64_t distance, int whence);
    byte_run read(std::optional<std::int64_t> count);
    byte_run readline();
    std::uint8_t read_byte();
    byte_run write(std::size_t count);
    void write_byte(std::uint8_t value);
    [[nodiscard]] std::int64_t find(std::span<const std::byte> needle,
                                    std::optional<std::int64_t> start,
                                    std::optional<std::int64_t> end, bool reverse);
    void move(std::int64_t dest, std::int64_t src, std::int64_t count);
    void flush(std::int64_t offset, std::optional<std::int64_t> size);
    void resize(std::int64_t new_length);

    // -- indexing and copying ---------------------------------------------------
    // The byte offset of `index`; negative indices count from the end.
    [[nodiscard]] std::size_t index(std::int64_t index) const;
    // Refuses (access_error) if the mapping was made read-only (ACCESS_READ).
    void require_modifiable() const;
    [[nodiscard]] std::uint8_t byte_at(std::size_t offset);
    void set_byte(std::size_t offset, std::uint8_t value);
    // Copy the bytes of `run` out to `to`, or in from `from` (which may be
    // memory of this mapping).  Each checks the protection first; a large
    // copy runs as blocking; a SIGBUS becomes an os_error.
    void copy_out(const byte_run& run, std::byte* to);
    void copy_in(const byte_run& run, const std::byte* from);

    // -- beyond mmap.mmap: ranges are (start, length), length None = to the end --
    void protect(int prot, std::int64_t start, std::optional<std::int64_t> length);
    void sync(std::int64_t start, std::optional<std::int64_t> length, int flags);
    void advise(int advice, std::int64_t start, std::optional<std::int64_t> length);
    // mmap.madvise(): its argument checks, then advise().
    void madvise(int advice, std::int64_t start, std::optional<std::int64_t> length);
    void lock(std::int64_t start, std::optional<std::int64_t> length, bool on_fault);
    void unlock(std::int64_t start, std::optional<std::int64_t> length);
    void populate(bool write, std::int64_t start, std::optional<std::int64_t> length);
    // One entry per page the mapping touches: 1 if resident in memory.
    [[nodiscard]] std::vector<std::uint8_t> residency();
    void set_name(const std::string& name);

    // -- pointers handed out ------------------------------------------------------
    // Keeps the memory in place and its protection while a call that does
    // not hold the caller's lock uses it; `writing` if that call writes.
    [[nodiscard]] Pin pin(bool writing);
    // For the buffer protocol: every export_buffer() is matched by one
    // release_buffer() with the readonly flag it returned.
    [[nodiscard]] exported_buffer export_buffer();
    void release_buffer(bool readonly) noexcept;

private:
    struct byte_range {
        std::size_t begin, end; // offsets into the mapping
    };

    Mapping(Region region, unique_fd fd, std::size_t delta, std::size_t length,
            std::int64_t offset, int flags, access_mode access);
    static Mapping map_anonymous(std::int64_t length, int flags, int prot,
                                 access_mode access);
    // Every check on the arguments of a file mapping, made before the file
    // is opened (and, for "w+", truncated).
    static void check_file_request(file_mode mode, std::optional<std::int64_t> length,
                                   std::int64_t offset, int extra_flags);
    static Mapping map_file(unique_fd fd, const std::string& target, file_mode mode,
                            std::optional<std::int64_t> length, std::int64_t offset,
                            int extra_flags);
    // Maps [offset, offset + length) of `map_fd` from the page holding
    // `offset`; `kept` is the descriptor the mapping keeps, if any.
    static Mapping map_window(int map_fd, unique_fd kept, const std::string& target,
                              std::size_t length, std::int64_t offset, int flags,
                              int prot, access_mode access);
    // from_fd(), but for remembering trackfd.
    static Mapping map_fd(int fd, std::int64_t length, int flags, int prot,
                          access_mode access, std::int64_t offset, bool trackfd);

    void require_no_pointers(const char* action) const;
    [[nodiscard]] byte_range checked_range(const char* what, std::int64_t start,
                                           std::optional<std::int64_t> length) const;
    // The granule-aligned region range holding [range.begin, range.end).
    [[nodiscard]] byte_range pages_around(byte_range range) const;
    // The same, refusing unless it holds no byte of the mapping outside `range`.
    [[nodiscard]] byte_range pages_exactly(const char* what, byte_range range) const;
    void require_within(std::size_t start, std::size_t count) const;
    void require_readable(std::size_t begin, std::size_t end) const;
    void require_writable(std::size_t begin, std::size_t end) const;
    // Runs `access` on the mapping's bytes [begin, end): as blocking when
    // large, and turning a SIGBUS there into an os_error naming `what`.
    template <class Access>
    void touch(const char* what, std::size_t begin, std::size_t end, bool writing,
               Access&& access);
    [[noreturn]] void raise_fault(const char* what, const memory_fault& fault) const;

    Region region_;
    unique_fd fd_;
    std::size_t delta_ = 0; // region bytes before the first mapped byte
    std::size_t length_ = 0;
    std::int64_t offset_ = 0; // file offset of the first mapped byte
    std::size_t pos_ = 0;
    int flags_ = 0;
    access_mode access_ = access_mode::default_access;
    int exports_ = 0;                     // buffer exports and pins
    int writable_exports_ = 0;            // those that may write
    std::optional<file_identity> leased_; // set by lease_until_dropped()
    bool own_ = false;                    // made by this process
    bool untracked_ = false;              // made with trackfd=False
};

class Mapping::Pin {
public:
    Pin(Pin&& other) noexcept
        : mapping_(std::exchange(other.mapping_, nullptr)), writing_(other.writing_) {}
    Pin& operator=(Pin&&) = delete;
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;
    ~Pin() {
        if (mapping_ != nullptr) {
            mapping_->release_buffer(!writing_);
        }
    }

private:
    friend class Mapping;
    Pin(Mapping& mapping, bool writing) noexcept
        : mapping_(&mapping), writing_(writing) {}

    Mapping* mapping_;
    bool writing_;
};

} // namespace memshare
