"""ms.Queue: multiprocessing.Queue's interface over a ring in shared memory,
checked with real processes."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import signal
import time
from typing import Any

import numpy as np
import pytest
from support import START_METHODS, interrupt_waiting

import memshare as ms

TIMEOUT = 60


def test_fifo_bounds_and_timeouts_as_multiprocessing_queue() -> None:
    q = ms.Queue(maxsize=3, capacity_bytes=4096)
    assert q.empty()
    for item in range(3):
        q.put(item)
    assert (q.qsize(), q.full()) == (3, True)
    with pytest.raises(queue.Full):
        q.put_nowait(3)
    start = time.monotonic()
    with pytest.raises(queue.Full):
        q.put(3, timeout=0.2)
    assert 0.15 < time.monotonic() - start < 5
    assert [q.get() for _ in range(3)] == [0, 1, 2]
    with pytest.raises(queue.Empty):
        q.get_nowait()
    with pytest.raises(queue.Empty):
        q.get(timeout=0.05)
    with pytest.raises(queue.Empty):
        q.get(False, timeout=10)  # not blocking: the timeout does not count
    with pytest.raises(TypeError, match="timeout must be a number"):
        q.get(timeout="1")
    q.close()
    with pytest.raises(ValueError, match="closed"):
        q.put(1)
    q.join_thread()
    q.cancel_join_thread()


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="maxsize"):
        ms.Queue(-1)
    with pytest.raises(ValueError, match="capacity_bytes"):
        ms.Queue(capacity_bytes=8)


def test_items_wrap_around_the_ring_and_larger_ones_still_pass() -> None:
    q = ms.Queue(capacity_bytes=300)
    for i in range(500):
        item = bytes([i % 256]) * (i % 90)
        q.put(item)
        assert q.get() == item
    big = np.arange(100_000)  # 800 kB through a ring of 300 bytes
    q.put(big)
    np.testing.assert_array_equal(q.get(), big)


def test_arrays_come_out_whole_and_large_ones_in_shared_memory() -> None:
    q = ms.Queue(capacity_bytes=1 << 12)
    big = np.random.default_rng(0).random((300, 200))  # 480 kB: out of band
    item = {
        "big": big,
        "small": np.arange(10),
        "strided": big[::3, ::2],  # not contiguous: pickled in band
        "fortran": np.asfortranarray(big),
        "text": "x",
    }
    q.put(item)
    back = q.get()
    for key in ("big", "small", "strided", "fortran"):
        np.testing.assert_array_equal(back[key], item[key])
        assert back[key].dtype == item[key].dtype
    assert back["text"] == "x"
    assert ms.is_shared(back["big"])  # a view of the memory it came in: no copy
    assert back["fortran"].flags.f_contiguous
    back["big"][0, 0] = -1.0  # writable, and the sender's array is untouched
    assert big[0, 0] != -1.0


def test_a_shared_array_goes_as_a_handle() -> None:
    q = ms.Queue()
    shared = ms.full(1 << 16, 2.0)
    q.put({"data": shared[10:]})
    back = q.get()["data"]
    assert np.shares_memory(back, shared)


def test_plain_pickle_refuses_a_queue() -> None:
    with pytest.raises(TypeError, match="Queue"):
        pickle.dumps(ms.Queue())


def produce(q: ms.Queue, producer: int, count: int) -> None:
    for seq in range(count):
        q.put((producer, seq))


def consume(q: ms.Queue, results: Any) -> None:
    got = []
    while (item := q.get()) is not None:
        got.append(item)
    results.put(got)


def test_four_producers_and_four_consumers_lose_and_repeat_nothing() -> None:
    ctx = multiprocessing.get_context("spawn")
    q, results = ms.Queue(maxsize=1000, capacity_bytes=1 << 16), ctx.Queue()
    count = 25_000
    producers = [ctx.Process(target=produce, args=(q, p, count)) for p in range(4)]
    consumers = [ctx.Process(target=consume, args=(q, results)) for _ in range(4)]
    for process in producers + consumers:
        process.start()
    for process in producers:
        process.join(TIMEOUT * 4)
    for _ in consumers:
        q.put(None)
    received = [results.get(timeout=TIMEOUT * 4) for _ in consumers]
    for process in consumers:
        process.join(TIMEOUT)
    everything = [item for got in received for item in got]
    assert len(everything) == 4 * count
    assert set(everything) == {(p, s) for p in range(4) for s in range(count)}
    for got in received:  # each producer's items in its order, in every consumer
        for p in range(4):
            mine = [s for producer, s in got if producer == p]
            assert mine == sorted(mine)


def answer(q: ms.Queue, replies: ms.Queue) -> None:
    while (item := q.get()) is not None:
        replies.put(item)


@pytest.mark.parametrize("method", START_METHODS)
def test_queues_travel_to_processes_under_every_start_method(method: str) -> None:
    ctx = multiprocessing.get_context(method)
    requests, replies = ms.Queue(capacity_bytes=1 << 12), ms.Queue()
    worker = ctx.Process(target=answer, args=(requests, replies))
    worker.start()
    big = np.arange(50_000)  # larger than the requests' ring
    for item in ["small", big, ms.full(8, 1.5)]:
        requests.put(item)
    assert replies.get(timeout=TIMEOUT) == "small"
    np.testing.assert_array_equal(replies.get(timeout=TIMEOUT), big)
    np.testing.assert_array_equal(replies.get(timeout=TIMEOUT), np.full(8, 1.5))
    requests.put(None)
    worker.join(TIMEOUT)
    assert worker.exitcode == 0


def die_holding_the_ring(q: ms.Queue) -> None:
    q._lock.acquire()  # as if killed in the middle of a put or get
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_process_killed_inside_a_put_or_get_stops_nobody() -> None:
    q = ms.Queue()
    q.put("before")
    ctx = multiprocessing.get_context("spawn")
    victim = ctx.Process(target=die_holding_the_ring, args=(q,))
    victim.start()
    victim.join(TIMEOUT)
    assert victim.exitcode == -signal.SIGKILL
    assert q.get(timeout=TIMEOUT) == "before"  # no OwnerDiedError, nothing lost
    q.put("after")
    assert q.get(timeout=TIMEOUT) == "after"


def test_a_consumer_killed_while_waiting_swallows_no_item() -> None:
    ctx = multiprocessing.get_context("spawn")
    q, results = ms.Queue(), ctx.Queue()
    waiting = ctx.Process(target=consume, args=(q, results))
    waiting.start()
    time.sleep(0.5)  # inside get(), waiting
    os.kill(waiting.pid, signal.SIGKILL)
    waiting.join(TIMEOUT)
    survivor = ctx.Process(target=consume, args=(q, results))
    survivor.start()
    q.put("item")
    q.put(None)
    assert results.get(timeout=TIMEOUT) == ["item"]
    survivor.join(TIMEOUT)


class PutMore:
    """A full queue, and a put that waits for room in it."""

    def __init__(self) -> None:
        self.queue = ms.Queue(maxsize=1)
        self.queue.put("fills it")

    def put(self) -> None:
        self.queue.put("waits")


@pytest.mark.parametrize("method", ["get", "put"])
def test_ctrl_c_interrupts_a_waiting_get_or_put(method: str) -> None:
    waits = ms.Queue() if method == "get" else PutMore()
    line, elapsed = interrupt_waiting(waits, method)
    assert line.startswith("interrupted")
    assert elapsed < 1
