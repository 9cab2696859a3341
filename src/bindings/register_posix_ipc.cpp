// POSIX named semaphores and message queues: the cores of
// memshare.NamedSemaphore and memshare.MessageQueue.  A wait runs without
// the GIL, so close() from another thread must not pull the semaphore or the
// queue from under it: each object counts its waits and refuses to close
// during one.
#include "bindings.hpp"

#include <memshare/base/error.hpp>
#include <memshare/shm/message_queue.hpp>
#include <memshare/shm/named_semaphore.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <utility>

namespace memshare::bindings {
namespace {

// Counts a wait while it lives (with the GIL held on both ends).
class counted {
public:
    explicit counted(int& waits) noexcept : waits_(waits) { ++waits_; }
    ~counted() { --waits_; }
    counted(const counted&) = delete;
    counted& operator=(const counted&) = delete;

private:
    int& waits_;
};

// wait_interruptibly() while `waits` counts the wait.
template <class Wait>
auto counted_wait(int& waits, Wait&& wait) {
    const counted during(waits);
    return wait_interruptibly(std::forward<Wait>(wait));
}

void refuse_close_while_waited(int waits, const char* what) {
    if (waits > 0) {
        throw py::buffer_error(std::string("cannot close the ") + what +
                               " while a thread waits on it");
    }
}

struct semaphore_object {
    named_semaphore semaphore;
    int waits = 0;
};

struct queue_object {
    message_queue queue;
    int waits = 0;
};

void bind_named_semaphore(py::module_& m) {
    py::class_<semaphore_object>(m, "NamedSemaphoreCore",
                                 "sem_open(3) and the calls on what it opened.")
        .def(py::init([](const py::bytes& name, bool create, unsigned value, int mode) {
                 return new semaphore_object{
                     named_semaphore(shm_name(std::string(name)), create, value,
                                     static_cast<mode_t>(mode))};
             }),
             py::arg("name"), py::arg("create"), py::arg("value"), py::arg("mode"))
        .def_property_readonly(
            "name",
            [](const semaphore_object& self) { return self.semaphore.name().bare(); })
        .def_property_readonly(
            "closed",
            [](const semaphore_object& self) { return self.semaphore.closed(); })
        .def(
            "acquire",
            [](semaphore_object& self, bool blocking, std::optional<double> seconds) {
                if (self.semaphore.try_acquire()) {
                    return true;
                }
                if (!blocking) {
                    return false;
                }
                const auto deadline = deadline_after(seconds);
                return counted_wait(self.waits, [&](auto interrupted) {
                    return self.semaphore.acquire(deadline, interrupted);
                });
            },
            py::arg("blocking"), py::arg("seconds"))
        .def(
            "release",
            [](semaphore_object& self, unsigned count) {
                self.semaphore.release(count);
            },
            py::arg("count"))
        .def("value", [](semaphore_object& self) { return self.semaphore.value(); })
        .def("close", [](semaphore_object& self) {
            refuse_close_while_waited(self.waits, "named semaphore");
            self.semaphore.close();
        });
    m.def(
        "sem_unlink",
        [](const py::bytes& name) { unlink_semaphore(shm_name(std::string(name))); },
        py::arg("name"), "sem_unlink(3).");
}

void bind_message_queue(py::module_& m) {
    py::class_<queue_object>(m, "MessageQueueCore",
                             "mq_open(3) and the calls on its queue.")
        .def(py::init([](const py::bytes& name, bool create, long max_messages,
                         long max_message_size, int mode) {
                 return new queue_object{message_queue(
                     shm_name(std::string(name)), create,
                     {max_messages, max_message_size}, static_cast<mode_t>(mode))};
             }),
             py::arg("name"), py::arg("create"), py::arg("max_messages"),
             py::arg("max_message_size"), py::arg("mode"))
        .def_property_readonly(
            "name", [](const queue_object& self) { return self.queue.name().bare(); })
        .def_property_readonly(
            "closed", [](const queue_object& self) { return self.queue.closed(); })
        .def("sizes",
             [](const queue_object& self) {
                 const message_queue::limits sizes = self.queue.sizes();
                 return std::pair(sizes.max_messages, sizes.max_message_size);
             })
        .def("waiting", [](const queue_object& self) { return self.queue.waiting(); })
        .def(
            "send",
            [](queue_object& self, const bytes_arg& message, unsigned priority,
               bool wait, std::optional<double> seconds) {
                const auto deadline = deadline_after(seconds);
                return counted_wait(self.waits, [&](auto interrupted) {
                           return self.queue.send(message.bytes, priority, wait,
                                                  deadline, interrupted);
                       }) == queue_outcome::done;
            },
            py::arg("message"), py::arg("priority"), py::arg("wait"),
            py::arg("seconds"), "Whether it was sent (False: the queue stayed full).")
        .def(
            "receive",
            [](queue_object& self, bool wait, std::optional<double> seconds)
                -> std::optional<std::pair<py::bytes, unsigned>> {
                const auto deadline = deadline_after(seconds);
                const auto capacity =
                    static_cast<std::size_t>(self.queue.sizes().max_message_size);
                std::string buffer(capacity, '\0');
                std::size_t size = 0;
                unsigned priority = 0;
                const queue_outcome got =
                    counted_wait(self.waits, [&](auto interrupted) {
                        return self.queue.receive(
                            {reinterpret_cast<std::byte*>(buffer.data()),
                             buffer.size()},
                            size, priority, wait, deadline, interrupted);
                    });
                if (got != queue_outcome::done) {
                    return std::nullopt;
                }
                buffer.resize(size);
                return std::pair(py::bytes(buffer), priority);
            },
            py::arg("wait"), py::arg("seconds"),
            "(message, priority), or None if none came.")
        .def("close", [](queue_object& self) {
            refuse_close_while_waited(self.waits, "message queue");
            self.queue.close();
        });
    m.def(
        "mq_unlink",
        [](const py::bytes& name) { unlink_queue(shm_name(std::string(name))); },
        py::arg("name"), "mq_unlink(3).");
}

} // namespace

void register_posix_ipc(py::module_& m) {
    bind_named_semaphore(m);
    bind_message_queue(m);
}

} // namespace memshare::bindings
