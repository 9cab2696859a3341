"""CPython's test._test_multiprocessing run against memshare's classes: the
queue, lock, semaphore, condition, event, barrier, shared memory and pool
tests in the processes flavour, under fork and spawn.

Skipped, each for its reason: tests of private attributes, of repr text,
and these documented choices: ``Queue.put()`` of an item that cannot be
pickled raises in the caller (a memshare queue has no feeder thread to
report it from), and ``Semaphore.acquire(False, timeout)`` raises as
threading's does."""

from __future__ import annotations

import multiprocessing
import multiprocessing.shared_memory
import unittest
from test import _test_multiprocessing as suite
from typing import Any, ClassVar

from cpython_suites import PRIVATE, REPR, shim, skip
from support import condition_waiters

import memshare as ms

# The suite's module names its classes through these modules; replaced at
# import, so that spawned children, which import this module to find their
# test's class, use memshare's too.
suite.shared_memory = shim(
    multiprocessing.shared_memory,
    SharedMemory=ms.SharedMemory,
    ShareableList=ms.ShareableList,
)
suite.multiprocessing = shim(multiprocessing, SimpleQueue=ms.SimpleQueue, Pool=ms.Pool)


class StartMethod:
    """Runs a class's tests with the start method it names."""

    start_method: ClassVar[str]
    _before: ClassVar[str | None]

    @classmethod
    def setUpClass(cls) -> None:
        cls._before = multiprocessing.get_start_method(allow_none=True)
        multiprocessing.set_start_method(cls.start_method, force=True)
        super().setUpClass()  # type: ignore[misc]

    @classmethod
    def tearDownClass(cls) -> None:
        super().tearDownClass()  # type: ignore[misc]
        multiprocessing.set_start_method(cls._before, force=True)


class MemshareMixin(StartMethod, suite.ProcessesMixin):  # type: ignore[misc]
    """The processes flavour, with memshare's classes."""

    Queue = staticmethod(ms.Queue)
    JoinableQueue = staticmethod(ms.JoinableQueue)
    Lock = staticmethod(ms.Lock)
    RLock = staticmethod(ms.RLock)
    Semaphore = staticmethod(ms.Semaphore)
    BoundedSemaphore = staticmethod(ms.BoundedSemaphore)
    Condition = staticmethod(ms.Condition)
    Event = staticmethod(ms.Event)
    Barrier = staticmethod(ms.Barrier)
    Pool = staticmethod(ms.Pool)


CLASSES = [
    suite._TestQueue,
    suite._TestLock,
    suite._TestSemaphore,
    suite._TestCondition,
    suite._TestEvent,
    suite._TestBarrier,
    suite._TestSharedMemory,
    suite.TestSimpleQueue,
    suite._TestPool,
    suite._TestPoolWorkerErrors,
    suite._TestPoolWorkerLifetime,
]

SKIPS: dict[str, dict[str, str]] = {
    "_TestQueue": {
        "test_queue_feeder_donot_stop_onexc": "expects a put() of an item that "
        "cannot be pickled to fail in a feeder thread; memshare raises in put()",
        "test_queue_feeder_on_queue_feeder_error": PRIVATE.format(
            "_on_queue_feeder_error"
        ),
    },
    "_TestSemaphore": {
        "test_timeout": "calls acquire(False, timeout): memshare raises "
        "ValueError as threading does"
    },
    "_TestEvent": {"test_repr": REPR},
    "_TestSharedMemory": {
        "test_shared_memory_basics": PRIVATE.format("a mocked _make_filename, _name"),
        "test_shared_memory_recreate": PRIVATE.format("a mocked _make_filename"),
        "test_shared_memory_ShareableList_basics": PRIVATE.format(
            "_get_packing_format"
        ),
    },
    "TestSimpleQueue": {"test_closed": PRIVATE.format("_reader, _writer")},
    "_TestPool": {
        "test_resource_warning": PRIVATE.format("_state, set to make __del__ warn"),
    },
    "_TestPoolWorkerLifetime": {
        "test_pool_worker_lifetime": PRIVATE.format("_repopulate_pool"),
    },
}


class ConditionInvariant:
    """check_invariant() of _TestCondition reads multiprocessing.Condition's
    private counts of sleepers; a memshare Condition's own invariant is
    that no waiter holds a slot once all have woken."""

    def check_invariant(self, cond: Any) -> None:
        assert condition_waiters(cond) == 0


EXTRAS: dict[str, tuple[type, ...]] = {"_TestCondition": (ConditionInvariant,)}


def install(base: type, method: str) -> None:
    mixins: tuple[type, ...] = (
        (MemshareMixin, unittest.TestCase)
        if issubclass(base, suite.BaseTestCase)
        else (StartMethod,)
    )
    name = f"With{method.capitalize()}{base.__name__.lstrip('_')}"
    cls: Any = type(
        name,
        (*EXTRAS.get(base.__name__, ()), base, *mixins),
        {"start_method": method, "__module__": __name__, "__qualname__": name},
    )
    skip(cls, SKIPS.get(base.__name__, {}))
    globals()[name] = cls


for _method in ("fork", "spawn"):
    for _base in CLASSES:
        install(_base, _method)
del _method, _base  # not tests themselves
