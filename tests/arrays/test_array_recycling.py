"""The memory of shared arrays a process let go of becomes the memory of its
next array of about that size, and never while another process can still
reach it: through an array it holds, a handle on its way, or a fork."""

from __future__ import annotations

import multiprocessing
import os
import signal
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
import pytest
from support import START_METHODS, shmem_kib, wait_for

import memshare as ms
from memshare import _core

N = 1 << 17  # float64s: 1 MiB
TIMEOUT = 60


def recycled() -> int:
    return int(_core.kept_segments()["recycled"])


def reused(address: int) -> bool:
    """Whether a new array of N float64s gets the memory at `address`."""
    probe = ms.empty(N)
    return bool(probe.ctypes.data == address)


def test_zeros_in_recycled_memory_are_zeros() -> None:
    old = ms.full(N, 7.0)
    address = old.ctypes.data
    del old
    assert recycled() == 1
    new = ms.zeros(N)
    assert new.ctypes.data == address  # the same memory, taken back
    assert recycled() == 0
    assert not new.any()


def test_empty_takes_recycled_memory_as_it_is() -> None:
    old = ms.full(N, 7.0)
    address = old.ctypes.data
    del old
    new = ms.empty(N)  # as numpy.empty: not cleared
    assert new.ctypes.data == address
    assert (new == 7.0).all()
    np.testing.assert_array_equal(ms.full(N, 2.0), 2.0)  # full overwrites it all


def test_memory_far_larger_than_asked_for_is_not_taken() -> None:
    old = ms.zeros(N)
    address = old.ctypes.data
    del old
    small = ms.zeros(N // 2)
    assert small.ctypes.data != address
    assert recycled() == 1


def test_what_is_kept_is_bounded_and_let_go_of_in_time() -> None:
    arrays = [ms.zeros(N + 4096 * i) for i in range(20)]
    del arrays
    assert recycled() == 16  # recycling_places: the oldest went at once
    assert wait_for(lambda: recycled() == 0)  # recycling_linger


def test_release_unused_gives_the_memory_back() -> None:
    size = 128 << 20
    baseline = shmem_kib()
    array = ms.ones(size // 8)
    del array
    assert shmem_kib() - baseline > (size >> 10) * 0.9  # kept, still in memory
    assert ms.release_unused() >= size
    assert recycled() == 0
    assert wait_for(lambda: shmem_kib() - baseline < (size >> 10) * 0.1)


def hold(
    array: np.ndarray[Any, Any], holding: ms.Event, release: ms.Event
) -> tuple[float, float]:
    holding.set()
    release.wait(TIMEOUT)
    return float(array.min()), float(array.max())


@pytest.mark.parametrize("method", START_METHODS)
def test_memory_a_worker_holds_is_not_reused(method: str) -> None:
    holding, release = ms.Event(), ms.Event()
    with multiprocessing.get_context(method).Pool(1) as pool:
        array = ms.full(N, 7.0)
        address = array.ctypes.data
        held = pool.apply_async(hold, (array, holding, release))
        assert holding.wait(TIMEOUT)
        del array
        other = ms.full(N, 3.0)  # not in the memory the worker holds
        assert other.ctypes.data != address
        release.set()
        assert held.get(TIMEOUT) == (7.0, 7.0)


def total(array: np.ndarray[Any, Any]) -> float:
    return float(array.sum())


@pytest.mark.parametrize("method", START_METHODS)
def test_memory_is_reused_once_every_process_let_go_of_it(method: str) -> None:
    with multiprocessing.get_context(method).Pool(1) as pool:
        array = ms.full(N, 1.0)
        address = array.ctypes.data
        assert pool.apply(total, (array,)) == N  # the worker had it, and let go
        del array
        assert wait_for(lambda: reused(address))


def receive_later(connection: Connection, start: ms.Event, replies: Any) -> None:
    start.wait(TIMEOUT)
    array = connection.recv()
    replies.put((float(array.min()), float(array.max())))


@pytest.mark.parametrize("method", START_METHODS)
def test_a_handle_on_its_way_keeps_the_memory_from_reuse(method: str) -> None:
    ctx = multiprocessing.get_context(method)
    sending, receiving = ctx.Pipe()
    start, replies = ms.Event(), ctx.Queue()
    receiver = ctx.Process(target=receive_later, args=(receiving, start, replies))
    receiver.start()
    array = ms.full(N, 7.0)
    address = array.ctypes.data
    sending.send(array)  # in the pipe, not received yet
    del array
    assert not reused(address)
    start.set()
    assert replies.get(timeout=TIMEOUT) == (7.0, 7.0)
    receiver.join(TIMEOUT)


INHERITED: list[np.ndarray[Any, Any]] = []


def check_inherited(holding: ms.Event, release: ms.Event, replies: Any) -> None:
    holding.set()
    release.wait(TIMEOUT)
    array = INHERITED.pop()
    replies.put((float(array.min()), float(array.max())))


def test_a_forked_child_keeps_the_memory_it_inherited() -> None:
    ctx = multiprocessing.get_context("fork")
    holding, release, replies = ms.Event(), ms.Event(), ctx.Queue()
    INHERITED.append(ms.full(N, 7.0))
    address = INHERITED[0].ctypes.data
    child = ctx.Process(target=check_inherited, args=(holding, release, replies))
    child.start()
    assert holding.wait(TIMEOUT)
    INHERITED.clear()  # the parent lets go; the child has it still
    assert not reused(address)
    other = ms.full(N, 3.0)
    release.set()
    assert replies.get(timeout=TIMEOUT) == (7.0, 7.0)
    child.join(TIMEOUT)
    del other


def hold_until_killed(array: np.ndarray[Any, Any], holding: ms.Event) -> None:
    holding.set()
    signal.pause()


def test_a_killed_holder_keeps_the_memory_from_reuse_but_not_from_being_freed() -> None:
    ctx = multiprocessing.get_context("spawn")
    holding = ms.Event()
    array = ms.full(N, 7.0)
    address = array.ctypes.data
    holder = ctx.Process(target=hold_until_killed, args=(array, holding))
    holder.start()
    assert holding.wait(TIMEOUT)
    os.kill(holder.pid, signal.SIGKILL)  # dies holding its lease
    holder.join(TIMEOUT)
    del array
    assert not reused(address)
    assert ms.release_unused() > 0  # the memory is let go of all the same
