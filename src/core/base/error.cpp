#include <memshare/base/error.hpp>

#include <cerrno>
#include <utility>

namespace memshare {

os_error::os_error(int err, std::string call, std::string target, std::string hint)
    : std::system_error(err, std::generic_category(), call), call_(std::move(call)),
      target_(std::move(target)), hint_(std::move(hint)) {}

void throw_errno(std::string call, std::string target, std::string hint) {
    throw os_error(errno, std::move(call), std::move(target), std::move(hint));
}

} // namespace memshare
