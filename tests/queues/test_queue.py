"""ms.Queue: multiprocessing.Queue's interface over a ring in shared memory,
checked with real processes."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import queue
import signal
import threading
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
    for closed in (lambda: q.put(1), q.get, q.get_many, lambda: q.put_many([1])):
        with pytest.raises(ValueError, match="closed"):
            closed()
    q.join_thread()
    q.cancel_join_thread()


def test_bad_sizes_are_refused() -> None:
    assert "maxsize=0" in repr(ms.Queue(-1))  # unbounded, as multiprocessing's
    with pytest.raises(ValueError, match="capacity_bytes"):
        ms.Queue(capacity_bytes=8)
    with pytest.raises(TypeError, match="integer"):
        ms.Queue(2.5)
    with pytest.raises(TypeError, match="integer"):
        ms.Queue(capacity_bytes="1 MiB")


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


def test_small_arrays_come_out_writable_as_from_multiprocessing() -> None:
    q = ms.Queue()
    items = [np.arange(10), np.zeros((3, 4), np.float32), np.array(2.5), np.arange(0)]
    q.put(items)
    back = q.get()
    for got, sent in zip(back, items, strict=True):
        np.testing.assert_array_equal(got, sent)
        assert (got.dtype, got.shape) == (sent.dtype, sent.shape)
        assert got.flags.writeable
    back[0][0] = 99  # its own memory: the sender's array is untouched
    assert items[0][0] == 0


def test_an_item_that_fails_to_pickle_leaves_the_queue_working() -> None:
    q = ms.Queue()
    with pytest.raises((TypeError, pickle.PicklingError)):
        q.put({"lock": threading.Lock()})
    q.put([1, 2, [3]])
    assert q.get() == [1, 2, [3]]
    assert q.empty()


def test_threads_of_one_process_share_a_queue() -> None:
    q = ms.Queue(maxsize=100)

    def produce_in(thread: int) -> None:
        for seq in range(2000):
            q.put((thread, seq, [seq] * (seq % 5)))

    threads = [threading.Thread(target=produce_in, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    got = [q.get(timeout=TIMEOUT) for _ in range(8000)]
    for thread in threads:
        thread.join()
    assert sorted((t, seq) for t, seq, _ in got) == [
        (t, seq) for t in range(4) for seq in range(2000)
    ]
    assert all(rest == [seq] * (seq % 5) for _, seq, rest in got)


def test_put_many_and_get_many() -> None:
    q = ms.Queue(maxsize=10)
    q.put_many(range(5))
    q.put_many(iter(["a", "b"]))
    assert q.qsize() == 7
    assert q.get_many(3) == [0, 1, 2]
    assert q.get_many() == [3, 4, "a", "b"]
    with pytest.raises(queue.Empty):
        q.get_many(block=False)
    start = time.monotonic()
    with pytest.raises(queue.Empty):
        q.get_many(timeout=0.1)
    assert time.monotonic() - start >= 0.09
    with pytest.raises(ValueError, match="max_items"):
        q.get_many(0)
    # All or none when the batch fits the queue: none of 11 (maxsize 10).
    q.put_many(range(8))
    with pytest.raises(queue.Full, match="0 of the 3 items"):
        q.put_many(["x", "y", "z"], block=False)
    assert q.qsize() == 8


def test_a_batch_larger_than_the_ring_goes_in_parts() -> None:
    q = ms.Queue(capacity_bytes=1024)
    items = [bytes([i]) * 100 for i in range(100)]  # ten times the ring
    got: list[bytes] = []
    taker = threading.Thread(
        target=lambda: got.extend(q.get(timeout=TIMEOUT) for _ in items)
    )
    taker.start()
    q.put_many(items, timeout=TIMEOUT)
    taker.join()
    assert got == items
    with pytest.raises(queue.Full, match="of the 100 items were put"):
        q.put_many(items, timeout=0.1)  # nobody takes: only the first part goes
    assert 0 < q.qsize() < 100


@pytest.mark.parametrize("kind", [ms.SimpleQueue, multiprocessing.SimpleQueue])
def test_a_closed_simple_queue_raises_oserror_as_multiprocessings(kind: Any) -> None:
    q = kind()
    q.put(1)
    q.close()
    q.close()  # twice is fine
    for call in (q.empty, q.get, lambda: q.put(2)):
        with pytest.raises(OSError, match="closed"):
            call()


def test_simple_queue_has_multiprocessing_simple_queues_interface() -> None:
    q = ms.SimpleQueue(capacity_bytes=4096)
    assert q.empty()
    q.put({"a": np.arange(3)})
    assert not q.empty()
    np.testing.assert_array_equal(q.get()["a"], np.arange(3))
    replies = ms.SimpleQueue()
    worker = multiprocessing.get_context("spawn").Process(
        target=answer, args=(q, replies)
    )
    worker.start()
    q.put("there and back")
    q.put(None)
    assert replies.get(timeout=TIMEOUT) == "there and back"
    worker.join(TIMEOUT)


def work_through(tasks: ms.JoinableQueue, done: Any) -> None:
    while (item := tasks.get()) is not None:
        time.sleep(0.01)
        done.put(item)
        tasks.task_done()
    tasks.task_done()


def test_joinable_queue_join_waits_for_every_task_done() -> None:
    ctx = multiprocessing.get_context("spawn")
    tasks, done = ms.JoinableQueue(), ms.Queue()
    workers = [ctx.Process(target=work_through, args=(tasks, done)) for _ in range(2)]
    for worker in workers:
        worker.start()
    tasks.put_many(range(20))
    tasks.join()  # returns only once all 20 are done
    assert sorted(done.get_many()) == list(range(20))
    tasks.put_many([None, None])
    tasks.join()
    for worker in workers:
        worker.join(TIMEOUT)
        assert worker.exitcode == 0
    with pytest.raises(ValueError, match="too many times"):
        tasks.task_done()


def test_a_put_that_fails_is_not_a_task_to_join() -> None:
    tasks = ms.JoinableQueue(maxsize=1)
    tasks.put("only")
    with pytest.raises(queue.Full):
        tasks.put("no room", timeout=0.05)
    with pytest.raises(queue.Full):
        tasks.put_many(["a", "b"], block=False)
    tasks.get()
    tasks.task_done()
    tasks.join()  # would wait for ever if the failed puts were counted


def test_a_shared_array_that_was_not_put_is_not_kept_from_reuse() -> None:
    q = ms.Queue(maxsize=1)
    q.put("fills it")
    array = ms.full(1 << 17, 7.0)
    address = array.ctypes.data
    with pytest.raises(queue.Full):
        q.put(array, timeout=0.01)
    with pytest.raises(queue.Full):
        q.put_many([array[:10], array[10:]], block=False)
    del array  # nothing else holds a handle of its memory: it is reused
    assert ms.empty(1 << 17).ctypes.data == address


def test_a_shared_array_goes_as_a_handle() -> None:
    q = ms.Queue()
    shared = ms.full(1 << 16, 2.0)
    q.put({"data": shared[10:]})
    back = q.get()["data"]
    assert np.shares_memory(back, shared)


def test_a_queue_travels_through_a_queue() -> None:
    outer, inner = ms.Queue(), ms.JoinableQueue()
    outer.put_many([inner, ms.SimpleQueue()])
    got, simple = outer.get_many()
    assert (type(got), type(simple)) == (ms.JoinableQueue, ms.SimpleQueue)
    got.put("through the copy")
    assert inner.get() == "through the copy"
    got.task_done()
    inner.join()


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


def churn(q: ms.Queue, rounds: int) -> None:
    for _ in range(rounds):
        q.put_many(range(8))
        with contextlib.suppress(queue.Empty):  # the other took them
            q.get_many(block=False)


def test_sizes_read_without_the_lock_are_whole_while_others_commit() -> None:
    # qsize() reads the indices while other processes commit puts and takes
    # (the pool's workers do, between tasks): it must never see half of a
    # commit, which would look like stray bytes and raise.
    ctx = multiprocessing.get_context("spawn")
    q = ms.Queue(capacity_bytes=4096)
    churners = [ctx.Process(target=churn, args=(q, 20_000)) for _ in range(2)]
    for process in churners:
        process.start()
    sizes = set()
    while any(process.is_alive() for process in churners):
        sizes.update(q.qsize() for _ in range(1000))
    for process in churners:
        process.join(TIMEOUT)
        assert process.exitcode == 0
    assert sizes <= set(range(2 * 8 + 1))
    assert q._core.taken + q.qsize() == 2 * 20_000 * 8  # each put counted once


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


def put_large(q: ms.Queue, size: int) -> None:
    for i in range(1, 1_000_000):
        q.put(bytes([i % 256]) * size)


def get_large(q: ms.Queue) -> None:
    while True:
        q.get()


def kill_while_copying(
    q: ms.Queue, victim: multiprocessing.process.BaseProcess
) -> None:
    """Kills `victim` while it holds the ring's lock: in the middle of the
    copy of a record."""
    victim.start()
    deadline = time.monotonic() + TIMEOUT
    while not q._core.locked:
        assert time.monotonic() < deadline, "the victim never copied"
    assert victim.pid is not None
    os.kill(victim.pid, signal.SIGKILL)
    victim.join(TIMEOUT)
    assert victim.exitcode == -signal.SIGKILL


def whole(item: bytes) -> int:
    """The byte `item` repeats, checked to be the same throughout."""
    values = np.frombuffer(item, np.uint8)
    assert values.min() == values.max()
    return int(values[0])


LARGE = 64 << 20  # bytes: each record takes tens of milliseconds to copy


def test_a_producer_killed_while_putting_loses_only_its_item() -> None:
    q = ms.Queue(capacity_bytes=3 * LARGE)
    ctx = multiprocessing.get_context("spawn")
    kill_while_copying(q, ctx.Process(target=put_large, args=(q, LARGE)))
    # What it had put before comes out whole; the record it was copying is
    # not there, and the ring takes more.
    got = [whole(q.get(timeout=TIMEOUT)) for _ in range(q.qsize())]
    assert got == list(range(1, len(got) + 1))
    q.put(b"after")
    assert q.get(timeout=TIMEOUT) == b"after"
    assert q.empty()


def test_a_consumer_killed_while_getting_loses_at_most_its_item() -> None:
    q = ms.Queue(capacity_bytes=3 * LARGE)
    for i in range(1, 4):
        q.put(bytes([i]) * (LARGE - 100), timeout=TIMEOUT)
    ctx = multiprocessing.get_context("spawn")
    kill_while_copying(q, ctx.Process(target=get_large, args=(q,)))
    # Killed before its take was committed (by far the likelier), it took
    # nothing; the rest come out whole, in order.
    got = [whole(q.get(timeout=TIMEOUT)) for _ in range(q.qsize())]
    assert 1 <= len(got) <= 3
    assert got == list(range(4 - len(got), 4))
    q.put(b"after")
    assert q.get(timeout=TIMEOUT) == b"after"


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


class PutManyMore:
    """A JoinableQueue with room for 3 items, and a batch of 5 to put, each
    holding a shared array: 3 go in, then the put waits."""

    def __init__(self) -> None:
        self.queue = ms.JoinableQueue(maxsize=3)
        self.arrays = [ms.full(1 << 17, float(i)) for i in range(5)]

    def put_many(self) -> None:
        self.queue.put_many(self.arrays)


def test_ctrl_c_in_put_many_counts_what_went_in() -> None:
    waits = PutManyMore()
    line, _ = interrupt_waiting(waits, "put_many")
    assert line.startswith("interrupted")
    got = waits.queue.get_many()
    assert [float(array[0]) for array in got] == [0.0, 1.0, 2.0]
    for _ in got:
        waits.queue.task_done()
    waits.queue.join()  # the two that did not go in are not counted
    with pytest.raises(ValueError, match="too many"):
        waits.queue.task_done()
