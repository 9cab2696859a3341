// The core of memshare.Queue: records of bytes through a ring in shared
// memory.  Python pickles the items and raises queue.Full and queue.Empty;
// here the records go in and out, and the waits happen without the GIL.
#include "bindings.hpp"

#include <memshare/queue/shared_queue.hpp>

#include <pybind11/typing.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
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
    // Bumped by stop_takers(): the waits of get_many(stoppable=True) that
    // began before end.  This process's alone, unlike the queue.
    std::unique_ptr<std::atomic<std::uint32_t>> stops =
        std::make_unique<std::atomic<std::uint32_t>>(0);
};

using incoming = std::tuple<py::bytearray, std::uint8_t>;

std::span<std::byte> writable(const py::object& cell) {
    const py::buffer_info info = py::buffer(cell).request(true);
    return {static_cast<std::byte*>(info.ptr), static_cast<std::size_t>(info.size)};
}

// The first `count` aligned 64-bit words of `memory` (a uint64 array,
// say), written by the calls that claim or mark records.
std::uint64_t* words_in(const py::buffer& memory, std::size_t count) {
    const py::buffer_info info = memory.request(true);
    if (static_cast<std::size_t>(info.size * info.itemsize) < 8 * count ||
        reinterpret_cast<std::uintptr_t>(info.ptr) % alignof(std::uint64_t) != 0) {
        throw py::value_error("a claim or mark needs a writable, 8-byte aligned "
                              "buffer of at least " +
                              std::to_string(8 * count) + " bytes");
    }
    return static_cast<std::uint64_t*>(info.ptr);
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
// Nothing if no attempt succeeded by the deadline or before `stopped()`
// says so, or at once without `block`.
template <class Result, class Attempt, class Waiter, class Stopped>
std::optional<Result> until_done(shared_queue& queue, bool block,
                                 std::optional<double> seconds, Attempt&& attempt,
                                 Waiter&& waiter, Stopped&& stopped) {
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
        // Looked at after the waiter saw the words: a stop after this wakes
        // the wait.
        if (!again || stopped()) {
            return std::nullopt;
        }
        // Once the deadline has passed, one last look.
        again = wait_interruptibly(wait) != wait_outcome::timed_out;
    }
}

// The oldest record, taken out into a new bytearray (writable: arrays
// unpickled from it are writable, as multiprocessing's are); its number
// goes into the words of `claim` (see shared_queue::held::take).
incoming take_oldest(shared_queue::held& held, const shared_queue::record& found,
                     std::span<std::uint64_t> claim = {}) {
    py::bytearray payload(nullptr, found.size);
    held.take({reinterpret_cast<std::byte*>(PyByteArray_AS_STRING(payload.ptr())),
               found.size},
              claim);
    return {std::move(payload), found.flags};
}

constexpr auto never = [] { return false; };

// What waits for a put into `queue` (see until_done), spinning first if
// `spin`.
auto items_waiter(shared_queue& queue, bool spin = true) {
    return [&queue, spin](shared_queue::held& held,
                          std::optional<steady_time> deadline) {
        return [&queue, deadline, spin, seen = held.items_seen()](auto interrupted) {
            return queue.wait_for_items(seen, deadline, interrupted, spin);
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
        items_waiter(queue), never);
}

// Up to `most` of the oldest records, one alone if flagged so.  With a
// `claim` of two words, the first record's number goes into both before
// its take commits, each later one's into the second.
template <class Stopped>
std::vector<incoming> get_many(shared_queue& queue, std::size_t most, bool block,
                               std::optional<double> seconds, bool spin,
                               Stopped&& stopped, std::uint64_t* claim = nullptr) {
    auto taken = until_done<std::vector<incoming>>(
        queue, block, seconds,
        [most,
         claim](shared_queue::held& held) -> std::optional<std::vector<incoming>> {
            std::vector<incoming> records;
            for (auto found = held.oldest(); found && records.size() < most;
                 found = held.oldest()) {
                const bool alone = (found->flags & shared_queue::alone) != 0;
                if (alone && !records.empty()) {
                    break;
                }
                std::span<std::uint64_t> words;
                if (claim != nullptr) {
                    words =
                        records.empty() ? std::span(claim, 2) : std::span(claim + 1, 1);
                }
                records.push_back(take_oldest(held, *found, words));
                if (alone) {
                    break;
                }
            }
            return records.empty() ? std::nullopt : std::optional(std::move(records));
        },
        items_waiter(queue, spin), stopped);
    return taken ? std::move(*taken) : std::vector<incoming>{};
}

struct outgoing {
    std::span<const std::byte> payload; // borrowed for the call
    std::uint8_t flags;
};

// A word to write once the last record is in, before the lock is let go.
struct mark {
    std::uint64_t* word = nullptr;
    std::uint64_t value = 0;
};

// Puts `records` in order: all at once, next to each other, if together
// they fit the queue when it is empty; else as many at a time as fit.
// `next` counts those put, even when a wait is interrupted.
void put_many(shared_queue& queue, const std::vector<outgoing>& records, bool block,
              std::optional<double> seconds, std::size_t& next, mark done = {}) {
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
            if (next != records.size()) {
                return std::nullopt;
            }
            if (done.word != nullptr) {
                std::atomic_ref<std::uint64_t>(*done.word).store(done.value);
            }
            return true;
        },
        [&](shared_queue::held& held, std::optional<steady_time> deadline) {
            return [&queue, deadline, seen = held.room_seen(),
                    need = wanted()](auto interrupted) {
                return queue.wait_for_room(seen, need.first, need.second, deadline,
                                           interrupted);
            };
        },
        never);
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
        .def_property_readonly(
            "taken", [](const queue_object& self) { return self.queue.taken(); },
            "How many records were ever taken: the number of the last one taken.")
        .def(
            "put",
            [](queue_object& self, bytes_arg payload, std::uint8_t flags, bool block,
               std::optional<double> seconds, const std::optional<py::buffer>& mark,
               std::uint64_t mark_value) {
                const std::vector<outgoing> records{{payload.bytes, flags}};
                std::size_t put = 0;
                put_many(self.queue, records, block, seconds, put,
                         {mark ? words_in(*mark, 1) : nullptr, mark_value});
                return put == 1;
            },
            py::arg("payload"), py::arg("flags"), py::arg("block"), py::arg("seconds"),
            py::arg("mark") = py::none(), py::arg("mark_value") = 0,
            "Puts one record: False if there was no room by the deadline.  Once "
            "it is in, and before anyone can take it, `mark_value` is written to "
            "the first 8 bytes of `mark` if given.")
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
            "The oldest record (payload, flags), or None if none came by the "
            "deadline.")
        .def(
            "get_many",
            [](queue_object& self, std::size_t most, bool block,
               std::optional<double> seconds, bool stoppable, bool spin,
               const std::optional<py::buffer>& claim) {
                if (claim) {
                    return get_many(self.queue, most, block, seconds, spin, never,
                                    words_in(*claim, 2));
                }
                if (!stoppable) {
                    return get_many(self.queue, most, block, seconds, spin, never);
                }
                std::atomic<std::uint32_t>& stops = *self.stops;
                return get_many(
                    self.queue, most, block, seconds, spin,
                    [&stops, began = stops.load()] { return stops.load() != began; });
            },
            py::arg("most"), py::arg("block"), py::arg("seconds"),
            py::arg("stoppable") = false, py::arg("spin") = true,
            py::arg("claim") = py::none(),
            "Up to `most` of the oldest records; none if none came by the deadline "
            "or, if `stoppable`, once this process calls stop_takers().  A record "
            "flagged `alone` (0x80) is taken by itself.  Without `spin`, a wait "
            "sleeps at once (for a taker whose speed matters less than the CPU its "
            "spinning would take).  With a `claim` (two 64-bit words, not with "
            "`stoppable`), the number of the first record taken (the `taken` count "
            "its take makes) is written to both words, and each later one's to the "
            "second, before each take commits.")
        .def(
            "stop_takers",
            [](queue_object& self) {
                self.stops->fetch_add(1);
                self.queue.wake_takers();
            },
            "Ends the waits of this process's get_many(stoppable=True) calls "
            "under way (with what they took, or nothing).");
    // Plain attributes: the stub of a documented static property differs
    // between Pythons.
    py::object type = m.attr("SharedQueue");
    type.attr("header_size") = shared_queue::header_size; // bytes before the ring
    // Bytes each record takes besides its payload.
    type.attr("record_header") = shared_queue::record_header;
    // The flag of a record taken alone (see get_many).
    type.attr("alone") = shared_queue::alone;
}

} // namespace memshare::bindings
