"""Stray bytes over a Queue's shared memory (a bug in another process that
wrote where it should not) give clear errors, never a crash or a hang: the
core checks the indices and each record's size before it copies anything.
Each example runs in a child process, so that a crash fails the test
instead of the run."""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import in_child

import memshare as ms

SHORT = 0.01  # every wait is short: a hang fails the test by its timeout
HEADER: int = ms._core.SharedQueue.header_size

# What a call may raise over a damaged header; anything else is a bug.
HEADER_ERRORS = (RuntimeError, ValueError, queue.Empty, queue.Full)


def filled() -> ms.Queue:
    q = ms.Queue(capacity_bytes=4096)
    for item in (1, b"x" * 100, ("a", 2.5), np.arange(40), ms.zeros(10)):
        q.put(item)
    q.get()  # the ring's head is not at its start
    return q


def use(q: ms.Queue, errors: tuple[type[BaseException], ...]) -> None:
    calls: list[Callable[[], Any]] = [
        q.qsize,
        q.empty,
        q.full,
        q.get_nowait,
        lambda: q.get(timeout=SHORT),
        lambda: q.get_many(3, timeout=SHORT),
        lambda: q.put(b"y" * 50, timeout=SHORT),
        lambda: q.put_many([1, 2, 3], timeout=SHORT),
        lambda: q.put_nowait(b"z" * 3000),
        lambda: q.get_many(block=False),
    ]
    for call in calls:
        with contextlib.suppress(errors):
            call()


def survive(
    where: int, stray: bytes, errors: tuple[type[BaseException], ...], end: int
) -> None:
    q = filled()
    cell = q._core.cell  # the queue's memory, as another process maps it
    end = min(end, where + len(stray))
    cell[where:end] = np.frombuffer(stray, np.uint8)[: end - where]
    use(q, errors)
    try:
        again = type(q)._attach(cell)  # as a process receiving it would
    except ValueError:
        return  # its header says it is no Queue any more: refused, clearly
    use(again, errors)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stray=st.binary(min_size=1, max_size=48),
    where=st.integers(0, HEADER - 1),
)
def test_stray_bytes_over_a_queues_header_raise_clear_errors(
    stray: bytes, where: int
) -> None:
    in_child(lambda: survive(where, stray, HEADER_ERRORS, HEADER))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stray=st.binary(min_size=1, max_size=32),
    where=st.integers(HEADER, HEADER + 1024),
)
def test_stray_bytes_over_a_queues_records_never_crash(
    stray: bytes, where: int
) -> None:
    # A damaged payload is a damaged pickle, which may raise anything that
    # unpickling raises (as over multiprocessing's pipes): the point is that
    # the process lives on.
    in_child(lambda: survive(where, stray, (Exception,), HEADER + 4096))


@pytest.mark.parametrize(
    ("name", "value"),
    [("head", 1 << 40), ("tail", 4095 * 7), ("used", 1 << 63), ("count", 10**6)],
)
def test_damaged_indices_are_named(name: str, value: int) -> None:
    def damage() -> str:
        q = filled()
        words = q._core.cell[:HEADER].view(np.uint64)
        # Both copies of the indices, after the lock's cell and the words.
        for copy in (0, 1):
            at = (ms.LOCK_SIZE + 32 + 32 * copy) // 8
            words[at + ("head", "tail", "used", "count").index(name)] = value
        with pytest.raises(RuntimeError, match="damaged") as caught:
            q.get_nowait()
        with pytest.raises(RuntimeError, match="damaged"):
            q.put(1, timeout=SHORT)
        return str(caught.value)

    message = in_child(damage)
    assert "indices" in message
    assert str(value) in message


def test_a_lock_that_stays_held_ends_a_call_that_does_not_block() -> None:
    def stuck() -> str:
        q = filled()
        held = ms.zeros(ms.LOCK_SIZE, np.uint8)
        assert ms.Lock(buffer=held).acquire(False)
        # The ring's lock now says this (live) process holds it, for ever.
        state = slice(8, 16)  # after the cell's header
        q._core.cell[state] = held[state]
        with pytest.raises(RuntimeError, match="held for over a second") as caught:
            q.get_nowait()
        return str(caught.value)

    assert "stray writes" in in_child(stuck)
