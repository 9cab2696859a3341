"""CPython's test.lock_tests (the tests of threading's locks, events,
conditions, semaphores and barriers) run against memshare's classes.

Skipped, each for its reason: the tests of private attributes, and the one
that gives a Condition a threading lock (a memshare Condition needs a
memshare lock, which other processes can reach)."""

from __future__ import annotations

from test import lock_tests

from cpython_suites import PRIVATE, skip

import memshare as ms


class LockTests(lock_tests.LockTests):
    locktype = staticmethod(ms.Lock)


class RLockTests(lock_tests.RLockTests):
    locktype = staticmethod(ms.RLock)


class EventTests(lock_tests.EventTests):
    eventtype = staticmethod(ms.Event)


class ConditionTests(lock_tests.ConditionTests):
    condtype = staticmethod(ms.Condition)


class SemaphoreTests(lock_tests.SemaphoreTests):
    semtype = staticmethod(ms.Semaphore)


class BoundedSemaphoreTests(lock_tests.BoundedSemaphoreTests):
    semtype = staticmethod(ms.BoundedSemaphore)


class BarrierTests(lock_tests.BarrierTests):
    barriertype = staticmethod(ms.Barrier)


# A lock in shared memory must not be reset in a forked child: other
# processes may hold it.
skip(LockTests, {"test_at_fork_reinit": PRIVATE.format("_at_fork_reinit")})
skip(EventTests, {"test_at_fork_reinit": PRIVATE.format("_cond, _at_fork_reinit")})
skip(
    ConditionTests,
    {
        "test_acquire": "gives the Condition a threading.Lock: a memshare "
        "Condition needs a memshare lock, which other processes can reach"
    },
)
