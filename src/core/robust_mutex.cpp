#include <memshare/error.hpp>
#include <memshare/robust_mutex.hpp>

#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace memshare {
namespace {

pthread_mutex_t* mutex_in(std::byte* cell) {
    return reinterpret_cast<pthread_mutex_t*>(cell + robust_mutex::header_size);
}

// Checks a pthread call that fails only on misuse memshare rules out.
void check(int err, const char* call) {
    if (err != 0) {
        throw os_error(err, call, {});
    }
}

class mutex_attributes {
public:
    explicit mutex_attributes(int type) {
        check(::pthread_mutexattr_init(&attributes_), "pthread_mutexattr_init");
        check(::pthread_mutexattr_setpshared(&attributes_, PTHREAD_PROCESS_SHARED),
              "pthread_mutexattr_setpshared");
        check(::pthread_mutexattr_setrobust(&attributes_, PTHREAD_MUTEX_ROBUST),
              "pthread_mutexattr_setrobust");
        check(::pthread_mutexattr_settype(&attributes_, type),
              "pthread_mutexattr_settype");
    }
    ~mutex_attributes() { ::pthread_mutexattr_destroy(&attributes_); }
    mutex_attributes(const mutex_attributes&) = delete;
    mutex_attributes& operator=(const mutex_attributes&) = delete;

    [[nodiscard]] const pthread_mutexattr_t* get() const noexcept {
        return &attributes_;
    }

private:
    pthread_mutexattr_t attributes_{};
};

// The outcome of a lock call: a dead holder's mutex is made consistent here,
// so that it stays usable (POSIX would make it unusable for good once
// unlocked otherwise), and the caller is told.
lock_outcome outcome_of(pthread_mutex_t* mutex, int err) {
    switch (err) {
    case 0:
        return lock_outcome::acquired;
    case EOWNERDEAD:
        check(::pthread_mutex_consistent(mutex), "pthread_mutex_consistent");
        return lock_outcome::owner_died;
    case EBUSY:
    case ETIMEDOUT:
        return lock_outcome::busy;
    case EDEADLK:
        return lock_outcome::held_here;
    default:
        throw os_error(err, "pthread_mutex_lock", {});
    }
}

// glibc keeps the holder's thread id in the futex word, __data.__lock (the
// kernel clears it, setting FUTEX_OWNER_DIED, when the holder dies), and
// how many times it holds the mutex in __data.__count.
unsigned owner_of(const pthread_mutex_t* mutex) noexcept {
    constexpr unsigned owner_mask = 0x3fffffff; // FUTEX_TID_MASK
    return static_cast<unsigned>(
               __atomic_load_n(&mutex->__data.__lock, __ATOMIC_RELAXED)) &
           owner_mask;
}

} // namespace

robust_mutex robust_mutex::make(std::byte* cell, sync_kind kind) {
    const mutex_attributes attributes(
        kind == sync_kind::rlock ? PTHREAD_MUTEX_RECURSIVE : PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_t* mutex = mutex_in(cell);
    check(::pthread_mutex_init(mutex, attributes.get()), "pthread_mutex_init");
    stamp_header(cell, kind);
    return robust_mutex(mutex);
}

robust_mutex robust_mutex::attach(std::byte* cell, sync_kind kind) {
    check_header(cell, kind);
    return robust_mutex(mutex_in(cell));
}

robust_mutex robust_mutex::attach_unchecked(std::byte* cell) noexcept {
    return robust_mutex(mutex_in(cell));
}

lock_outcome robust_mutex::try_lock() {
    return outcome_of(mutex_, ::pthread_mutex_trylock(mutex_));
}

lock_outcome robust_mutex::lock_briefly() {
    return outcome_of(mutex_, ::pthread_mutex_lock(mutex_));
}

lock_outcome robust_mutex::lock_until(steady_time until) {
    const timespec when = realtime_at(until);
    return outcome_of(mutex_, ::pthread_mutex_timedlock(mutex_, &when));
}

bool robust_mutex::unlock() noexcept {
    return ::pthread_mutex_unlock(mutex_) == 0;
}

bool robust_mutex::locked() const noexcept {
    return owner_of(mutex_) != 0;
}

unsigned robust_mutex::depth() const noexcept {
    if (owner_of(mutex_) != static_cast<unsigned>(::gettid())) {
        return 0;
    }
    return mutex_->__data.__count;
}

} // namespace memshare
