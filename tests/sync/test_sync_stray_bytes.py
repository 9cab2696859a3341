"""Stray bytes over a primitive placed in an array (a NumPy write that
missed, a bug in another process) give it a wrong but safe state, or a clear
error: never a crash or a hang.  No pointer lives in a primitive's cell, only
values, and each call checks what it reads.  Each example runs in a child
process, so that a crash fails the test instead of the run."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import in_child

import memshare as ms

SHORT = 0.01  # every wait is short: a hang fails the test by its timeout

# What a call may raise over damaged bytes; anything else is a bug.
CLEAR_ERRORS = (
    ms.OwnerDiedError,
    RuntimeError,
    ValueError,
    OverflowError,
    threading.BrokenBarrierError,
)


def use_lock(lock: Any) -> None:
    for _ in range(3):
        attempt(lambda: lock.acquire(timeout=SHORT))
        attempt(lambda: lock.acquire(False))
        attempt(lock.locked)
        attempt(lock.release)
        attempt(lock._depth)


def use_event(event: Any) -> None:
    for call in (event.is_set, event.set, lambda: event.wait(SHORT), event.clear):
        attempt(call)
    attempt(lambda: event.wait(SHORT))


def use_semaphore(semaphore: Any) -> None:
    for _ in range(2):
        attempt(lambda: semaphore.acquire(timeout=SHORT))
        attempt(lambda: semaphore.release(2))
        attempt(semaphore.get_value)


def use_condition(condition: Any) -> None:
    for _ in range(2):
        if attempt(lambda: condition.acquire(timeout=SHORT)):
            attempt(lambda: condition.wait(SHORT))
            attempt(condition.notify_all)
            attempt(condition.release)


def use_barrier(barrier: Any) -> None:
    for call in (
        lambda: barrier.wait(SHORT),
        lambda: barrier.n_waiting,
        lambda: barrier.broken,
        barrier.reset,
        barrier.abort,
        lambda: repr(barrier),
    ):
        attempt(call)


def use_atomic(atomic: Any) -> None:
    attempt(lambda: atomic.fetch_add(1))
    attempt(lambda: atomic.compare_exchange(0, 1))


def attempt(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except CLEAR_ERRORS:
        return None


# kind: (make it in the buffer at offset 0, find it there, use it)
KINDS: dict[
    str, tuple[Callable[[Any], Any], Callable[[Any], Any], Callable[..., None]]
] = {
    "Lock": (lambda b: ms.Lock(buffer=b), lambda b: ms.Lock.at(b), use_lock),
    "RLock": (lambda b: ms.RLock(buffer=b), lambda b: ms.RLock.at(b), use_lock),
    "Event": (lambda b: ms.Event(buffer=b), lambda b: ms.Event.at(b), use_event),
    "Semaphore": (
        lambda b: ms.Semaphore(2, buffer=b),
        lambda b: ms.Semaphore.at(b),
        use_semaphore,
    ),
    "BoundedSemaphore": (
        lambda b: ms.BoundedSemaphore(2, buffer=b),
        lambda b: ms.BoundedSemaphore.at(b),
        use_semaphore,
    ),
    "Condition": (
        lambda b: ms.Condition(ms.Lock(), max_waiters=4, buffer=b),
        lambda b: ms.Condition.at(b, 0, ms.Lock()),
        use_condition,
    ),
    "Barrier": (
        lambda b: ms.Barrier(2, buffer=b),
        lambda b: ms.Barrier.at(b),
        use_barrier,
    ),
    "AtomicInt": (
        lambda b: ms.AtomicInt(buffer=b),
        lambda b: ms.AtomicInt.at(b),
        use_atomic,
    ),
}
CELL = 256  # more than any of these cells above takes


def survive(kind: str, stray: bytes, start: int, header_too: bool) -> None:
    make, find, use = KINDS[kind]
    buffer = ms.zeros(CELL, np.uint8)
    placed = make(buffer)
    first = 0 if header_too else 8  # the header: magic, version, kind
    end = min(CELL, first + start + len(stray))
    buffer[first + start : end] = np.frombuffer(stray, np.uint8)[: end - first - start]
    use(placed)
    try:
        again = find(buffer)
    except ValueError:
        return  # the header says it is not there any more: refused, clearly
    use(again)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(sorted(KINDS)),
    stray=st.binary(min_size=1, max_size=64),
    start=st.integers(0, 40),
    header_too=st.booleans(),
)
def test_stray_bytes_over_a_primitive_never_crash_or_hang(
    kind: str, stray: bytes, start: int, header_too: bool
) -> None:
    in_child(lambda: survive(kind, stray, start, header_too))


def test_each_kind_is_used_by_the_fuzz() -> None:
    # The uses above run without stray bytes too: they exercise the calls.
    for kind in KINDS:
        in_child(lambda kind=kind: survive(kind, b"", 0, False))  # type: ignore[misc]
