#include <memshare/base/error.hpp>
#include <memshare/shm/message_queue.hpp>

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <stdexcept>

namespace memshare {
namespace {

// The outcome of a failed send or receive; errors other than waiting throw.
queue_outcome failed(const char* call, const shm_name& name) {
    switch (errno) {
    case EAGAIN:
        return queue_outcome::would_block;
    case ETIMEDOUT:
    case EINTR:
        return queue_outcome::timed_out; // the slice ended: look again
    default:
        throw_errno(call, name.bare());
    }
}

} // namespace

message_queue::message_queue(const shm_name& name, bool create, limits sizes,
                             mode_t mode)
    : name_(name) {
    const std::string path = name.slashed();
    mqd_t queue{};
    if (create) {
        mq_attr attributes{};
        attributes.mq_maxmsg = sizes.max_messages;
        attributes.mq_msgsize = sizes.max_message_size;
        queue = ::mq_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode,
                          &attributes);
    } else {
        queue = ::mq_open(path.c_str(), O_RDWR | O_CLOEXEC);
    }
    if (queue == static_cast<mqd_t>(-1)) {
        throw os_error(errno, "mq_open", name.bare(),
                       errno == EINVAL && create
                           ? "max_messages and max_message_size must be positive and "
                             "within /proc/sys/fs/mqueue/msg_max and msgsize_max"
                           : "");
    }
    descriptor_ = unique_fd(queue);
}

int message_queue::open_descriptor() const {
    if (!descriptor_) {
        throw closed_error("the message queue " + name_.bare() + " is closed");
    }
    return descriptor_.get();
}

message_queue::limits message_queue::sizes() const {
    mq_attr attributes{};
    if (::mq_getattr(open_descriptor(), &attributes) != 0) {
        throw_errno("mq_getattr", name_.bare());
    }
    return {attributes.mq_maxmsg, attributes.mq_msgsize};
}

long message_queue::waiting() const {
    mq_attr attributes{};
    if (::mq_getattr(open_descriptor(), &attributes) != 0) {
        throw_errno("mq_getattr", name_.bare());
    }
    return attributes.mq_curmsgs;
}

queue_outcome message_queue::send_until(std::span<const std::byte> message,
                                        unsigned priority,
                                        std::optional<steady_time> until) {
    const int queue = open_descriptor();
    const auto* bytes = reinterpret_cast<const char*>(message.data());
    int sent = 0;
    if (until) {
        const timespec when = realtime_at(*until);
        sent = ::mq_timedsend(queue, bytes, message.size(), priority, &when);
    } else {
        // Without waiting: a zero timeout in the past fails at once with
        // ETIMEDOUT when the queue is full; say would_block then.
        const timespec now{0, 0};
        sent = ::mq_timedsend(queue, bytes, message.size(), priority, &now);
        if (sent != 0 && errno == ETIMEDOUT) {
            return queue_outcome::would_block;
        }
    }
    return sent == 0 ? queue_outcome::done : failed("mq_send", name_);
}

queue_outcome message_queue::receive_until(std::span<std::byte> buffer,
                                           std::size_t& size, unsigned& priority,
                                           std::optional<steady_time> until) {
    const int queue = open_descriptor();
    auto* bytes = reinterpret_cast<char*>(buffer.data());
    ssize_t got = 0;
    if (until) {
        const timespec when = realtime_at(*until);
        got = ::mq_timedreceive(queue, bytes, buffer.size(), &priority, &when);
    } else {
        const timespec now{0, 0};
        got = ::mq_timedreceive(queue, bytes, buffer.size(), &priority, &now);
        if (got < 0 && errno == ETIMEDOUT) {
            return queue_outcome::would_block;
        }
    }
    if (got < 0) {
        return failed("mq_receive", name_);
    }
    size = static_cast<std::size_t>(got);
    return queue_outcome::done;
}

void unlink_queue(const shm_name& name) {
    if (::mq_unlink(name.slashed().c_str()) != 0) {
        throw_errno("mq_unlink", name.bare());
    }
}

} // namespace memshare
