// Events, semaphores and atomic integers in shared memory: the cores of
// memshare.Event, Semaphore, BoundedSemaphore and AtomicInt, which check the
// arguments as threading does.
#include "bindings.hpp"

#include <memshare/sync/shared_atomic.hpp>
#include <memshare/sync/shared_barrier.hpp>
#include <memshare/sync/shared_condition.hpp>
#include <memshare/sync/shared_event.hpp>
#include <memshare/sync/shared_semaphore.hpp>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>

namespace memshare::bindings {
namespace {

// The cell a primitive of `kind` occupies at the start of `cell`, a
// writable buffer that the primitive's object keeps.
std::byte* place_of(const py::object& cell, std::size_t size, sync_kind kind) {
    const py::buffer_info info = py::buffer(cell).request(true);
    return cell_in(
        {static_cast<std::byte*>(info.ptr), static_cast<std::size_t>(info.size)}, size,
        kind);
}

// A primitive and the memory it lives in.
template <class Primitive>
struct placed {
    py::object cell;
    Primitive primitive;
};

using event_object = placed<shared_event>;
using semaphore_object = placed<shared_semaphore>;
using atomic_object = placed<shared_atomic>;
using condition_object = placed<shared_condition>;
using barrier_object = placed<shared_barrier>;

void bind_event(py::module_& m) {
    py::class_<event_object>(m, "SharedEvent",
                             "The core of memshare.Event: a flag in shared memory.")
        .def(py::init([](py::object cell, bool make) {
                 std::byte* place =
                     place_of(cell, shared_event::cell_size, sync_kind::event);
                 return event_object{std::move(cell),
                                     make ? shared_event::make(place)
                                          : shared_event::attach(place)};
             }),
             py::arg("cell"), py::arg("make"))
        .def_readonly("cell", &event_object::cell)
        .def("is_set", [](const event_object& self) { return self.primitive.is_set(); })
        .def("set", [](event_object& self) { self.primitive.set(); })
        .def("clear", [](event_object& self) { self.primitive.clear(); })
        .def(
            "wait",
            [](event_object& self, std::optional<double> seconds) {
                const auto deadline = deadline_after(seconds);
                const wait_outcome got = wait_interruptibly([&](auto interrupted) {
                    return self.primitive.wait(deadline, interrupted);
                });
                return got == wait_outcome::changed || self.primitive.is_set();
            },
            py::arg("seconds"),
            "Waits at most `seconds` (None: for ever): whether the flag was set.");
}

void bind_semaphore(py::module_& m) {
    py::class_<semaphore_object>(m, "SharedSemaphore",
                                 "The core of memshare.Semaphore and BoundedSemaphore.")
        .def(py::init([](py::object cell, std::uint32_t value,
                         std::optional<std::uint32_t> bound, bool make) {
                 const sync_kind kind =
                     bound ? sync_kind::bounded_semaphore : sync_kind::semaphore;
                 std::byte* place = place_of(cell, shared_semaphore::cell_size, kind);
                 return semaphore_object{
                     std::move(cell), make ? shared_semaphore::make(place, value, bound)
                                           : shared_semaphore::attach(place, kind)};
             }),
             py::arg("cell"), py::arg("value"), py::arg("bound"), py::arg("make"))
        .def_readonly("cell", &semaphore_object::cell)
        .def_property_readonly_static(
            "most", [](const py::object&) { return shared_semaphore::most; })
        .def("value",
             [](const semaphore_object& self) { return self.primitive.value(); })
        .def(
            "bound",
            [](const semaphore_object& self) { return self.primitive.bound(); },
            "The largest value allowed.")
        .def(
            "acquire",
            [](semaphore_object& self, bool blocking, std::optional<double> seconds) {
                if (self.primitive.try_acquire()) {
                    return true;
                }
                if (!blocking) {
                    return false;
                }
                const auto deadline = deadline_after(seconds);
                return wait_interruptibly([&](auto interrupted) {
                           return self.primitive.acquire(deadline, interrupted);
                       }) == wait_outcome::changed;
            },
            py::arg("blocking"), py::arg("seconds"))
        .def(
            "release",
            [](semaphore_object& self, std::uint32_t count) {
                return self.primitive.release(count);
            },
            py::arg("count"), "Adds `count`; False if that passes the bound.");
}

void bind_atomic(py::module_& m) {
    py::class_<atomic_object>(
        m, "SharedAtomic", "The core of memshare.AtomicInt: 64 bits in shared memory.")
        .def(py::init([](py::object cell, std::int64_t value, bool make) {
                 std::byte* place =
                     place_of(cell, shared_atomic::cell_size, sync_kind::atomic_int);
                 return atomic_object{std::move(cell),
                                      make ? shared_atomic::make(place, value)
                                           : shared_atomic::attach(place)};
             }),
             py::arg("cell"), py::arg("value"), py::arg("make"))
        .def_readonly("cell", &atomic_object::cell)
        .def("load", [](const atomic_object& self) { return self.primitive.load(); })
        .def(
            "store",
            [](atomic_object& self, std::int64_t value) {
                self.primitive.store(value);
            },
            py::arg("value"))
        .def(
            "fetch_add",
            [](atomic_object& self, std::int64_t delta) {
                return self.primitive.fetch_add(delta);
            },
            py::arg("delta"))
        .def(
            "exchange",
            [](atomic_object& self, std::int64_t value) {
                return self.primitive.exchange(value);
            },
            py::arg("value"))
        .def(
            "compare_exchange",
            [](atomic_object& self, std::int64_t expected, std::int64_t desired) {
                const bool stored = self.primitive.compare_exchange(expected, desired);
                return std::pair(stored, expected);
            },
            py::arg("expected"), py::arg("desired"),
            "(whether `desired` was stored, the value seen)");
}

void bind_condition(py::module_& m) {
    py::class_<condition_object>(m, "SharedCondition",
                                 "The core of memshare.Condition: its waiters' slots.")
        .def(py::init([](py::object cell, std::uint32_t slots, bool make) {
                 const py::buffer_info info = py::buffer(cell).request(true);
                 const auto size = static_cast<std::size_t>(info.size);
                 std::byte* place = cell_in({static_cast<std::byte*>(info.ptr), size},
                                            make ? shared_condition::cell_size(slots)
                                                 : shared_condition::head_size,
                                            sync_kind::condition);
                 return condition_object{std::move(cell),
                                         make ? shared_condition::make(place, slots)
                                              : shared_condition::attach(place, size)};
             }),
             py::arg("cell"), py::arg("slots"), py::arg("make"),
             "Make a condition of `slots` slots in `cell`, or attach to the one there.")
        .def_readonly("cell", &condition_object::cell)
        .def_property_readonly(
            "slots",
            [](const condition_object& self) { return self.primitive.slots(); })
        .def("enlist",
             [](condition_object& self) {
                 const std::optional<std::uint32_t> slot = self.primitive.enlist();
                 if (!slot) {
                     throw std::runtime_error(
                         "every one of the Condition's " +
                         std::to_string(self.primitive.slots()) +
                         " waiter slots is taken: make it with more (max_waiters=)");
                 }
                 return *slot;
             })
        .def(
            "sleep",
            [](condition_object& self, std::uint32_t slot,
               std::optional<double> seconds) {
                const auto deadline = deadline_after(seconds);
                wait_interruptibly([&](auto interrupted) {
                    return self.primitive.sleep(slot, deadline, interrupted);
                });
            },
            py::arg("slot"), py::arg("seconds"))
        .def(
            "leave",
            [](condition_object& self, std::uint32_t slot) {
                return self.primitive.leave(slot);
            },
            py::arg("slot"), "Give the slot back: whether it was notified.")
        .def(
            "notify",
            [](condition_object& self, std::uint32_t count) {
                return self.primitive.notify(count);
            },
            py::arg("count"), "Wake up to `count` waiters, oldest first: how many.");
    m.def("condition_size", &shared_condition::cell_size, py::arg("slots"),
          "Bytes a Condition with room for `slots` waiters takes.");
    m.def(
        "condition_slots",
        [](const py::object& cell) {
            return shared_condition::slots_in(
                place_of(cell, shared_condition::head_size, sync_kind::condition));
        },
        py::arg("cell"),
        "How many waiter slots the Condition at the start of `cell` has.");
}

void bind_barrier(py::module_& m) {
    py::class_<barrier_object>(m, "SharedBarrier", "The core of memshare.Barrier.")
        .def(py::init([](py::object cell, std::uint32_t parties, bool make) {
                 std::byte* place =
                     place_of(cell, shared_barrier::cell_size, sync_kind::barrier);
                 return barrier_object{std::move(cell),
                                       make ? shared_barrier::make(place, parties)
                                            : shared_barrier::attach(place)};
             }),
             py::arg("cell"), py::arg("parties"), py::arg("make"))
        .def_readonly("cell", &barrier_object::cell)
        .def(
            "arrive",
            [](barrier_object& self)
                -> std::optional<std::tuple<std::uint32_t, std::uint32_t, bool>> {
                const auto got = self.primitive.arrive();
                if (!got) {
                    return std::nullopt;
                }
                return std::tuple(got->index, got->generation, got->last);
            },
            "(index, generation, last), or None if the barrier is broken.")
        .def(
            "complete",
            [](barrier_object& self, std::uint32_t generation, bool released) {
                self.primitive.complete(generation, released);
            },
            py::arg("generation"), py::arg("released"))
        .def(
            "wait",
            [](barrier_object& self, std::uint32_t generation,
               std::optional<double> seconds) {
                const auto deadline = deadline_after(seconds);
                barrier_end end = barrier_end::broken;
                wait_interruptibly([&](auto interrupted) {
                    end = self.primitive.wait(generation, deadline, interrupted);
                    return end == barrier_end::interrupted ? wait_outcome::interrupted
                                                           : wait_outcome::changed;
                });
                return end == barrier_end::released;
            },
            py::arg("generation"), py::arg("seconds"),
            "Whether `generation` was released (False: broken, reset or timed out).")
        .def("abort", [](barrier_object& self) { self.primitive.abort(); })
        .def("reset", [](barrier_object& self) { self.primitive.reset(); })
        .def_property_readonly(
            "parties",
            [](const barrier_object& self) { return self.primitive.parties(); })
        .def_property_readonly(
            "n_waiting", [](barrier_object& self) { return self.primitive.waiting(); })
        .def_property_readonly("broken", [](const barrier_object& self) {
            return self.primitive.broken();
        });
    m.attr("BARRIER_SIZE") = shared_barrier::cell_size;
}

} // namespace

void register_primitives(py::module_& m) {
    bind_barrier(m);
    bind_event(m);
    bind_semaphore(m);
    bind_atomic(m);
    bind_condition(m);
    m.attr("EVENT_SIZE") = shared_event::cell_size;
    m.attr("SEMAPHORE_SIZE") = shared_semaphore::cell_size;
    m.attr("ATOMIC_SIZE") = shared_atomic::cell_size;
}

} // namespace memshare::bindings
