// Errors raised by the core.  Each class maps to one Python exception in the
// bindings, so the core can state *what* went wrong without knowing Python.
#pragma once

#include <stdexcept>
#include <string>
#include <system_error>

namespace memshare {

// A failed system call.  `call` names the syscall (with the arguments that
// explain a failure, such as the length of a huge mmap), `target` the file or
// object it acted on, and `hint` what the errno means here, when that is not
// obvious (for example which limit an ENOMEM hit).  Becomes the OSError
// subclass that errno implies.
class os_error : public std::system_error {
public:
    os_error(int err, std::string call, std::string target = {}, std::string hint = {});

    [[nodiscard]] const std::string& call() const noexcept { return call_; }
    [[nodiscard]] const std::string& target() const noexcept { return target_; }
    [[nodiscard]] const std::string& hint() const noexcept { return hint_; }

private:
    std::string call_;
    std::string target_;
    std::string hint_;
};

// Throws os_error for the current errno.
[[noreturn]] void throw_errno(std::string call, std::string target = {},
                              std::string hint = {});

// Use of a closed mapping.  Python: ValueError, as mmap raises.
class closed_error : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

// An access the protection does not allow, such as writing to a read-only
// mapping.  Python: TypeError, as mmap raises.
class access_error : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

// An operation that would invalidate pointers handed out to buffer consumers
// or to a call in flight.  Python: BufferError, as mmap raises.
class buffer_error : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

// Memory of a mapping that the SIGBUS shield replaced with zero pages
// (mapping/fault_shield.hpp).  Python: memshare.MappingDamagedError, an OSError.
class damaged_error : public os_error {
public:
    using os_error::os_error;
};

} // namespace memshare
