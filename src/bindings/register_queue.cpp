// The core of memshare.Queue: records of bytes through a ring in shared
// memory.  Python pickles the items and raises queue.Full and queue.Empty;
// here the records go in and out, and the waits happen without the GIL.
#include "bindings.hpp"

#include <memshare/queue/shared_queue.hpp>

#include <pybind11/typing.h>

#include <deque>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace memshare::bindings {
namespace {

struct queue_object {
    py::object cell; // the memory the queue lives in
    shared_queue queue;
};

using incoming = std::tuple<py::bytearray, std::uint8_t>;

std::span<std::byte> writable(const py::object& cell) {
    const py::buffer_info info = py::buffer(cell).request(true);
    return {static_cast<std::byte*>(info.ptr), static_cast<std::size_t>(info.size)};
}

// The queue's lock: at once if free, else waiting for it (without the GIL)
// until `deadline`.
std::optional<shared_queue::held> lock(shared_queue& queue,
                                       std::optional<steady_time> deadline) {
    if (auto held = queue.try_hold()) {
        return held;
    }
    return wait_interruptibly(
        [&](auto interrupted) { return queue.hold(deadline, interrupted); });
}

// The lock for a call that does not block.  Nobody holds it longer than one
// copy, so such calls wait for it too, but not for ever: held for a second,
// its holder is stopped or stray writes damaged it.
shared_queue::held lock_briefly(shared_queue& queue) {
    if (auto held = lock(queue, deadline_after(1.0))) {
        return std::move(*held);
    }
    throw std::runtime_error(
        "the Queue's lock has been held for over a second: a process that holds it "
        "is stopped, or stray writes damaged the Queue's shared memory");
}

// Runs `attempt(held)` with the lock held until it gives a result; between
// attempts, waits (without the lock and the GIL) by the callable that
// `waiter(held, deadline)` makes from what it saw while holding the lock.
// Nothing if no attempt succeeded by the deadline, or at once without
// `block`.
template <class Result, class Attempt, class Waiter>
std::optional<Result> until_done(shared_queue& queue, bool block,
                                 std::optional<double> seconds, Attempt&& attempt,
                                 Waiter&& waiter) {
    const auto deadline = block ? deadline_after(seconds) : std::nullopt;
    for (bool again = block;;) {
        std::optional<shared_queue::held> held =
            block ? lock(queue, deadline) : lock_briefly(queue);
        if (!held) {
            return std::nullopt;
        }
        if (std::optional<Result> done = attempt(*held)) {
            return done;
        }
        auto wait = waiter(*held, deadline);
        held.reset();
        if (!again) {
            return std::nullopt;
        }
        // Once the deadline has passed, one last look.
        again = wait_interruptibly(wait) != wait_outcome::timed_out;
    }
}

// The oldest record, taken out into a new bytearray (writable: arrays
// unpickled from it are writable, as multiprocessing's are).
incoming take_oldest(shared_queue::held& held, const shared_queue::record& found) {
    py::bytearray payload(nullptr, found.size);
    held.take({reinterpret_cast<std::byte*>(PyByteArray_AS_STRING(payload.ptr())),
               found.size});
    return {std::move(payload), found.flags};
}

// What waits for a put into `queue` (see until_done).
auto items_waiter(shared_queue& queue) {
    return [&queue](shared_queue::held& held, std::optional<steady_time> deadline) {
        return [&queue, deadline, seen = held.items_seen()](auto interrupted) {
            return queue.wait_for_items(seen, deadline, interrupted);
        };
    };
}

std::optional<incoming> get(shared_queue& queue, bool block,
                            std::optional<double> seconds) {
    return until_done<incoming>(
        queue, block, seconds,
        [](shared_queue::held& held) -> std::optional<incoming> {
            if (const auto found = held.oldest()) {
                return take_oldest(held, *found);
            }
            return std::nullopt;
        },
        items_waiter(queue));
}

std::vector<incoming> get_many(shared_queue& queue, std::size_t most, bool block,
                               std::optional<double> seconds) {
    auto taken = until_done<std::vector<incoming>>(
        queue, block, seconds,
        [most](shared_queue::held& held) -> std::optional<std::vector<incoming>> {
            std::vector<incoming> records;
            for (auto found = held.oldest(); found && records.size() < most;
                 found = held.oldest()) {
                records.push_back(take_oldest(held, *found));
            }
            return records.empty() ? std::nullopt : std::optional(std::move(records));
        },
        items_waiter(queue));
    return taken ? std::move(*taken) : std::vector<incoming>{};
}

struct outgoing {
    std::span<const std::byte> payload; // borrowed for the call
    std::uint8_t flags;
};

// Puts `records` in order: all at once, next to each other, if together
// they fit the queue when it is empty; else as many at a time as fit.
// `next` counts those put, even when a wait is interrupted.
void put_many(shared_queue& queue, const std::vector<outgoing>& records, bool block,
              std::optional<double> seconds, std::size_t& next) {
    std::uint64_t total = 0;
    for (const outgoing& record : records) {
        const std::size_t size = record.payload.size();
        if (size > queue.largest()) {
            throw std::invalid_argument(
                "a record of " + std::to_string(size) +
                " bytes is larger than the queue's ring allows (" +
                std::to_string(queue.largest()) + ")");
        }
        total += size;
    }
    const std::uint64_t most = queue.maxsize();
    const bool whole =
        (most == 0 || records.size() <= most) &&
        total + records.size() * shared_queue::record_header <= queue.capacity();
    // What the next attempt needs room for.
    auto wanted = [&] {
        return whole ? std::pair(total, records.size())
                     : std::pair<std::uint64_t, std::size_t>(
                           records[next].payload.size(), 1);
    };
    until_done<bool>(
        queue, block, seconds,
        [&](shared_queue::held& held) -> std::optional<bool> {
            const auto [payload, count] = wanted();
            if (!held.fits(payload, count)) {
                return std::nullopt;
            }
            for (; next < records.size() && held.fits(records[next].payload.size());
                 ++next) {
                held.put(records[next].payload, records[next].flags);
            }
            return next == records.size() ? std::optional(true) : std::nullopt;
        },
        [&](shared_queue::held& held, std::optional<steady_time> deadline) {
            return [&queue, deadline, seen = held.room_seen(),
                    need = wanted()](auto interrupted) {
                return queue.wait_for_room(seen, need.first, need.second, deadline,
                                           interrupted);
            };
        });
}

} // namespace

void register_queue(py::module_& m) {
    py::class_<queue_object>(m, "SharedQueue",
                             "The core of memshare.Queue: records of bytes, each with "
                             "a byte of flags, through a ring in shared memory.")
        .def(py::init([](py::object cell, std::uint64_t maxsize, bool make) {
                 const std::span<std::byte> place = writable(cell);
                 return queue_object{std::move(cell),
                                     make ? shared_queue::make(place, maxsize)
                                          : shared_queue::attach(place)};
             }),
             py::arg("cell"), py::arg("maxsize"), py::arg("make"))
        .def_readonly("cell", &queue_object::cell)
        .def_property_readonly(
            "capacity", [](const queue_object& self) { return self.queue.capacity(); },
            "Bytes of the ring.")
        .def_property_readonly(
            "largest", [](const queue_object& self) { return self.queue.largest(); },
            "The largest record the ring takes.")
        .def_property_readonly(
            "maxsize", [](const queue_object& self) { return self.queue.maxsize(); })
        .def("qsize", [](const queue_object& self) { return self.queue.count(); })
        .def_property_readonly(
            "locked", [](const queue_object& self) { return self.queue.locked(); },
            "Whether a process holds the ring's lock now (copying a record).")
        .def(
            "put",
            [](queue_object& self, bytes_arg payload, std::uint8_t flags, bool block,
               std::optional<double> seconds) {
                const std::vector<outgoing> records{{payload.bytes, flags}};
                std::size_t put = 0;
                put_many(self.queue, records, block, seconds, put);
                return put == 1;
            },
            py::arg("payload"), py::arg("flags"), py::arg("block"), py::arg("seconds"),
            "Puts one record: False if there was no room by the deadline.")
        .def(
            "put_many",
            [](queue_object& self,
               const py::typing::List<py::typing::Tuple<py::buffer, py::int_>>& items,
               bool block, std::optional<double> seconds) {
                std::deque<borrowed_bytes> borrowed; // never moved: they pin
                std::vector<outgoing> records;
                records.reserve(items.size());
                for (const py::handle item : items) {
                    const auto [payload, flags] =
                        item.cast<std::tuple<py::object, std::uint8_t>>();
                    records.push_back({borrowed.emplace_back(payload).bytes(), flags});
                }
                // A Ctrl-C may come after some went in: the caller must know
                // how many (to uncount them, to take back the rest).
                std::size_t put = 0;
                try {
                    put_many(self.queue, records, block, seconds, put);
                } catch (py::error_already_set& stopped) {
                    return std::pair(put, std::optional(stopped.value()));
                }
                return std::pair(put, std::optional<py::object>());
            },
            py::arg("records"), py::arg("block"), py::arg("seconds"),
            "Puts (payload, flags) records in order: (how many by the deadline, "
            "the exception that stopped it or None).")
        .def(
            "get",
            [](queue_object& self, bool block, std::optional<double> seconds) {
                return get(self.queue, block, seconds);
            },
            py::arg("block"), py::arg("seconds"),
            "The oldest record (payload, flags), or None if none came by the deadline.")
        .def(
            "get_many",
            [](queue_object& self, std::size_t most, bool block,
               std::optional<double> seconds) {
                return get_many(self.queue, most, block, seconds);
            },
            py::arg("most"), py::arg("block"), py::arg("seconds"),
            "Up to `most` of the oldest records; none if none came by the deadline.");
    // Plain attributes: the stub of a documented static property differs
    // between Pythons.
    py::object type = m.attr("SharedQueue");
    type.attr("header_size") = shared_queue::header_size; // bytes before the ring
    // Bytes each record takes besides its payload.
    type.attr("record_header") = shared_queue::record_header;
}

} // namespace memshare::bindings
