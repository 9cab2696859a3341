// POSIX message queues (mq_overview(7)): messages with priorities that the
// kernel keeps in a queue under a name, which any process can open by it.
#pragma once

#include <memshare/base/unique_fd.hpp>
#include <memshare/shm/shm.hpp>
#include <memshare/sync/wait_slices.hpp>

#include <mqueue.h>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <utility>

namespace memshare {

enum class queue_outcome { done, would_block, timed_out, interrupted };

class message_queue {
public:
    struct limits {
        long max_messages;
        long max_message_size;
    };

    // mq_open(name, O_RDWR | O_CREAT | O_EXCL, mode, limits) when `create`,
    // else mq_open(name, O_RDWR) of an existing one.
    message_queue(const shm_name& name, bool create, limits sizes, mode_t mode);

    [[nodiscard]] const shm_name& name() const noexcept { return name_; }
    [[nodiscard]] bool closed() const noexcept { return !descriptor_; }
    // mq_getattr: the limits, and how many messages wait now.  Every call
    // but close() raises closed_error once closed.
    [[nodiscard]] limits sizes() const;
    [[nodiscard]] long waiting() const;

    // Sends `message` with `priority`; without waiting (would_block if the
    // queue is full), or until `deadline` in slices, calling
    // `interrupted()` between them.
    template <class Interrupted>
    queue_outcome send(std::span<const std::byte> message, unsigned priority, bool wait,
                       std::optional<steady_time> deadline, Interrupted&& interrupted);
    // Receives the oldest message of the highest priority into `buffer`
    // (at least max_message_size bytes): its size and priority.
    template <class Interrupted>
    queue_outcome
    receive(std::span<std::byte> buffer, std::size_t& size, unsigned& priority,
            bool wait, std::optional<steady_time> deadline, Interrupted&& interrupted);
    void close() noexcept { descriptor_.reset(); }

private:
    // One attempt: done, would_block (nothing to wait for), or timed_out.
    queue_outcome send_until(std::span<const std::byte> message, unsigned priority,
                             std::optional<steady_time> until);
    queue_outcome receive_until(std::span<std::byte> buffer, std::size_t& size,
                                unsigned& priority, std::optional<steady_time> until);
    [[nodiscard]] int open_descriptor() const;

    shm_name name_;
    unique_fd descriptor_; // an mqd_t is a descriptor on Linux
};

template <class Interrupted>
queue_outcome message_queue::send(std::span<const std::byte> message, unsigned priority,
                                  bool wait, std::optional<steady_time> deadline,
                                  Interrupted&& interrupted) {
    if (!wait) {
        return send_until(message, priority, std::nullopt);
    }
    return in_slices(
        deadline, queue_outcome::timed_out, queue_outcome::timed_out,
        queue_outcome::interrupted,
        [&](steady_time until) { return send_until(message, priority, until); },
        interrupted);
}

template <class Interrupted>
queue_outcome message_queue::receive(std::span<std::byte> buffer, std::size_t& size,
                                     unsigned& priority, bool wait,
                                     std::optional<steady_time> deadline,
                                     Interrupted&& interrupted) {
    if (!wait) {
        return receive_until(buffer, size, priority, std::nullopt);
    }
    return in_slices(
        deadline, queue_outcome::timed_out, queue_outcome::timed_out,
        queue_outcome::interrupted,
        [&](steady_time until) { return receive_until(buffer, size, priority, until); },
        interrupted);
}

// mq_unlink(3).
void unlink_queue(const shm_name& name);

} // namespace memshare
