// POSIX named semaphores (sem_open(3)): a counter the kernel keeps under a
// name in /dev/shm ("sem.NAME"), which any process can open by that name.
#pragma once

#include <memshare/shm/shm.hpp>
#include <memshare/sync/wait_slices.hpp>

#include <semaphore.h>

#include <optional>
#include <string>

namespace memshare {

class named_semaphore {
public:
    // sem_open(name, O_CREAT | O_EXCL, mode, value) when `create`, else
    // sem_open(name, 0) of an existing one.
    named_semaphore(const shm_name& name, bool create, unsigned value, mode_t mode);
    ~named_semaphore();
    named_semaphore(const named_semaphore&) = delete;
    named_semaphore& operator=(const named_semaphore&) = delete;

    [[nodiscard]] const shm_name& name() const noexcept { return name_; }
    [[nodiscard]] bool closed() const noexcept { return semaphore_ == nullptr; }
    // sem_trywait: whether it took one.  Every call but close() raises
    // closed_error once closed.
    bool try_acquire();
    // sem_timedwait in slices until `deadline`, calling `interrupted()`
    // between them: whether it took one (false: timed out or interrupted).
    template <class Interrupted>
    bool acquire(std::optional<steady_time> deadline, Interrupted&& interrupted);
    // sem_post `count` times.
    void release(unsigned count);
    [[nodiscard]] int value();
    // sem_close; closing twice is harmless.
    void close() noexcept;

private:
    // One slice: whether it took one by `until`.
    bool acquire_until(steady_time until);
    // The semaphore; closed_error once closed.
    [[nodiscard]] sem_t* open_semaphore() const;

    shm_name name_;
    sem_t* semaphore_;
};

template <class Interrupted>
bool named_semaphore::acquire(std::optional<steady_time> deadline,
                              Interrupted&& interrupted) {
    return in_slices(
        deadline, false, false, false,
        [this](steady_time until) { return acquire_until(until); }, interrupted);
}

// sem_unlink(3).
void unlink_semaphore(const shm_name& name);

} // namespace memshare
