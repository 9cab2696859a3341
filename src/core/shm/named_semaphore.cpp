#include <memshare/base/error.hpp>
#include <memshare/shm/named_semaphore.hpp>

#include <fcntl.h>
#include <limits.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <stdexcept>
#include <string>

namespace memshare {
namespace {

// glibc keeps a named semaphore as /dev/shm/sem.NAME: four bytes of the
// name's NAME_MAX go to the prefix.  Checked here, as sem_open() would say
// only ENAMETOOLONG, and after the other checks of every name.
const shm_name& checked(const shm_name& name) {
    constexpr std::size_t most = NAME_MAX - 4;
    if (name.bare().size() > most) {
        throw std::invalid_argument("invalid semaphore name '" + name.bare() +
                                    "': it is longer than " + std::to_string(most) +
                                    " bytes (NAME_MAX less the \"sem.\" prefix "
                                    "of its file in /dev/shm)");
    }
    return name;
}

} // namespace

named_semaphore::named_semaphore(const shm_name& name, bool create, unsigned value,
                                 mode_t mode)
    : name_(checked(name)), semaphore_(nullptr) {
    const std::string path = name.slashed();
    semaphore_ = create ? ::sem_open(path.c_str(), O_CREAT | O_EXCL, mode, value)
                        : ::sem_open(path.c_str(), 0);
    if (semaphore_ == SEM_FAILED) {
        semaphore_ = nullptr;
        throw_errno("sem_open", name.bare());
    }
}

named_semaphore::~named_semaphore() {
    close();
}

void named_semaphore::close() noexcept {
    if (semaphore_ != nullptr) {
        ::sem_close(semaphore_);
        semaphore_ = nullptr;
    }
}

sem_t* named_semaphore::open_semaphore() const {
    if (semaphore_ == nullptr) {
        throw closed_error("the named semaphore " + name_.bare() + " is closed");
    }
    return semaphore_;
}

bool named_semaphore::try_acquire() {
    sem_t* semaphore = open_semaphore();
    while (::sem_trywait(semaphore) != 0) {
        if (errno == EAGAIN) {
            return false;
        }
        if (errno != EINTR) {
            throw_errno("sem_trywait", name_.bare());
        }
    }
    return true;
}

bool named_semaphore::acquire_until(steady_time until) {
    const timespec when = realtime_at(until);
    if (::sem_timedwait(open_semaphore(), &when) == 0) {
        return true;
    }
    if (errno == ETIMEDOUT || errno == EINTR) {
        return false;
    }
    throw_errno("sem_timedwait", name_.bare());
}

void named_semaphore::release(unsigned count) {
    sem_t* semaphore = open_semaphore();
    for (unsigned i = 0; i < count; ++i) {
        if (::sem_post(semaphore) != 0) {
            throw_errno("sem_post", name_.bare()); // EOVERFLOW past SEM_VALUE_MAX
        }
    }
}

int named_semaphore::value() {
    int value = 0;
    if (::sem_getvalue(open_semaphore(), &value) != 0) {
        throw_errno("sem_getvalue", name_.bare());
    }
    return value;
}

void unlink_semaphore(const shm_name& name) {
    if (::sem_unlink(checked(name).slashed().c_str()) != 0) {
        throw_errno("sem_unlink", name.bare());
    }
}

} // namespace memshare
