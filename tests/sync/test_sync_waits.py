"""memshare.Event, Semaphore, BoundedSemaphore, AtomicInt and AtomicArray:
threading's interface where it has one, in shared memory, reachable from
every other process."""

from __future__ import annotations

import multiprocessing
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from channels import CHANNELS, name_of
from support import START_METHODS, interrupt_waiting, run_contending, wait_for

import memshare as ms

TIMEOUT = 60


# -- Event -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [ms.Event, threading.Event])
def test_an_event_behaves_as_threading(kind: Callable[[], Any]) -> None:
    event = kind()
    assert event.is_set() is False
    assert event.wait(0) is False
    assert event.wait(-1) is False
    start = time.monotonic()
    assert event.wait(0.1) is False
    assert time.monotonic() - start >= 0.09
    event.set()
    assert event.is_set() is True
    assert event.wait() is True
    assert event.wait(0) is True
    event.clear()
    assert event.is_set() is False


@pytest.mark.parametrize("kind", [ms.Event, threading.Event])
@pytest.mark.parametrize(
    ("timeout", "error"), [("1", TypeError), (b"1", TypeError), (1e300, OverflowError)]
)
def test_bad_timeouts_are_refused(
    kind: Callable[[], Any], timeout: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        kind().wait(timeout)


def test_set_wakes_every_waiting_thread() -> None:
    event, woken = ms.Event(), []
    waiters = [
        threading.Thread(target=lambda: woken.append(event.wait(TIMEOUT)))
        for _ in range(4)
    ]
    for waiter in waiters:
        waiter.start()
    time.sleep(0.1)
    event.set()
    for waiter in waiters:
        waiter.join(TIMEOUT)
    assert woken == [True] * 4


def wait_for_event(event: Any, waiting: Any) -> bool:
    waiting.fetch_add(1)
    return bool(event.wait(TIMEOUT))


@pytest.mark.parametrize("kind", [ms.Event, threading.Event])
def test_set_then_clear_at_once_wakes_every_waiting_thread(
    kind: Callable[[], Any],
) -> None:
    # As CPython's lock_tests.EventTests.test_set_and_clear: a waiter that
    # was waiting when set() was called wakes, with True.
    event, waiting = kind(), ms.AtomicInt()
    with ThreadPoolExecutor(50) as pool:
        woken = [pool.submit(wait_for_event, event, waiting) for _ in range(50)]
        assert wait_for(lambda: waiting.load() == 50)
        time.sleep(0.2)  # asleep in the kernel by now
        event.set()
        event.clear()
        assert [w.result(TIMEOUT) for w in woken] == [True] * 50


def test_set_then_clear_at_once_wakes_every_waiting_process() -> None:
    event, waiting = ms.Event(), ms.AtomicInt()
    with ProcessPoolExecutor(8, multiprocessing.get_context("spawn")) as pool:
        woken = [pool.submit(wait_for_event, event, waiting) for _ in range(8)]
        assert wait_for(lambda: waiting.load() == 8)
        time.sleep(0.2)
        event.set()
        event.clear()
        assert [w.result(TIMEOUT) for w in woken] == [True] * 8


# -- Semaphore and BoundedSemaphore -------------------------------------------------------------


@pytest.mark.parametrize("kind", [ms.Semaphore, threading.Semaphore])
def test_a_semaphore_counts_as_threading(kind: Callable[[int], Any]) -> None:
    semaphore = kind(2)
    assert semaphore.acquire() is True
    assert semaphore.acquire(blocking=False) is True
    assert semaphore.acquire(blocking=False) is False
    start = time.monotonic()
    assert semaphore.acquire(timeout=0.1) is False
    assert time.monotonic() - start >= 0.09
    semaphore.release(2)
    with semaphore:
        assert semaphore.acquire(timeout=0) is True
    semaphore.release()  # unbounded: may rise past the start
    semaphore.release()


@pytest.mark.parametrize("kind", [ms.BoundedSemaphore, threading.BoundedSemaphore])
def test_a_bounded_semaphore_refuses_to_rise_as_threading(
    kind: Callable[[int], Any],
) -> None:
    semaphore = kind(1)
    semaphore.acquire()
    semaphore.release()
    with pytest.raises(ValueError, match="released too many times"):
        semaphore.release()
    zero = kind(0)
    with pytest.raises(ValueError, match="released too many times"):
        zero.release()


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: ms.Semaphore(-1), ValueError),
        (lambda: ms.Semaphore(1 << 31), ValueError),
        (lambda: ms.Semaphore(1.5), TypeError),
        (lambda: ms.Semaphore().acquire(False, 1), ValueError),
        (lambda: ms.Semaphore().acquire(timeout="1"), TypeError),
        (lambda: ms.Semaphore().release(0), ValueError),
        (lambda: ms.Semaphore((1 << 31) - 1).release(), OverflowError),
    ],
)
def test_bad_semaphore_arguments_are_refused(
    make: Callable[[], Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        make()


def test_release_of_n_wakes_n_waiters() -> None:
    semaphore, taken = ms.Semaphore(0), []
    waiters = [
        threading.Thread(target=lambda: taken.append(semaphore.acquire(timeout=0.5)))
        for _ in range(3)
    ]
    for waiter in waiters:
        waiter.start()
    time.sleep(0.1)
    semaphore.release(2)
    for waiter in waiters:
        waiter.join(TIMEOUT)
    assert sorted(taken) == [False, True, True]
    assert semaphore.get_value() == 0


# -- AtomicInt and AtomicArray --------------------------------------------------------------


def test_an_atomic_int_reads_and_changes_atomically() -> None:
    atomic = ms.AtomicInt(5)
    assert atomic.load() == 5
    assert atomic.fetch_add(3) == 5
    assert atomic.add(2) == 10
    assert atomic.exchange(1) == 10
    assert atomic.compare_exchange(1, 9) == (True, 1)
    assert atomic.compare_exchange(1, 7) == (False, 9)
    atomic.value = -4
    assert atomic.value == -4
    assert int(atomic) == -4
    atomic.store((1 << 63) - 1)
    assert atomic.add(1) == -(1 << 63)  # wraps around, as in C
    assert atomic.load() == -(1 << 63)


@pytest.mark.parametrize(
    "change",
    [
        lambda a: a.store(1 << 63),
        lambda a: a.fetch_add(-(1 << 63) - 1),
        lambda a: a.compare_exchange(0, 1 << 64),
    ],
)
def test_values_past_64_bits_are_refused(change: Callable[[Any], Any]) -> None:
    with pytest.raises(OverflowError, match="64-bit"):
        change(ms.AtomicInt())


def test_an_atomic_array_holds_counters_side_by_side() -> None:
    counters = ms.AtomicArray(4, 10)
    assert len(counters) == 4
    assert counters.fetch_add(2, 5) == 10
    counters.store(0, -1)
    assert counters.tolist() == [-1, 10, 15, 10]
    assert counters[-2].load() == 15
    with pytest.raises(IndexError):
        counters.load(4)
    with pytest.raises(ValueError, match="size of 0 or more"):
        ms.AtomicArray(-1)
    assert ms.AtomicArray(0).tolist() == []


# -- where they live ----------------------------------------------------------------------


def test_each_kind_is_found_where_it_was_made() -> None:
    segment = ms.zeros(4096, np.uint8)
    event = ms.Event(buffer=segment, offset=0)
    semaphore = ms.BoundedSemaphore(3, buffer=segment, offset=64)
    ms.AtomicInt(7, buffer=segment, offset=128)
    counters = ms.AtomicArray(3, buffer=segment, offset=256)
    event.set()
    semaphore.acquire()
    counters.fetch_add(1, 2)
    assert ms.Event.at(segment, 0).is_set()
    assert ms.BoundedSemaphore.at(segment, 64).get_value() == 2
    assert ms.AtomicInt.at(segment, 128).load() == 7
    assert ms.AtomicArray.at(segment, 3, 256).tolist() == [0, 2, 0]


@pytest.mark.parametrize(
    ("find", "message"),
    [
        (lambda s: ms.Event.at(s, 512), "no memshare primitive is there"),
        (lambda s: ms.Semaphore.at(s, 0), "an Event is there, not a Semaphore"),
        (lambda s: ms.AtomicInt.at(s, 4), "multiple of 8"),
        (lambda s: ms.Event(buffer=s, offset=4090), "does not leave room"),
        (lambda s: ms.AtomicInt(buffer=np.zeros(64, np.uint8)), "memory memshare"),
    ],
)
def test_bad_places_are_refused(find: Callable[[Any], Any], message: str) -> None:
    segment = ms.zeros(4096, np.uint8)
    ms.Event(buffer=segment, offset=0)
    with pytest.raises(ValueError, match=message):
        find(segment)


@pytest.mark.parametrize(
    "make",
    [
        ms.Event,
        ms.Semaphore,
        ms.BoundedSemaphore,
        ms.AtomicInt,
        lambda: ms.AtomicArray(2),
    ],
)
def test_pickle_refuses_to_copy_them(make: Callable[[], Any]) -> None:
    with pytest.raises(TypeError, match="send it through multiprocessing"):
        pickle.dumps(make())


# -- other processes ---------------------------------------------------------------------


def use_all(things: tuple[Any, Any, Any, Any]) -> tuple[bool, bool, int, int]:
    event, semaphore, atomic, counters = things
    was_set = event.wait(TIMEOUT)
    event.clear()
    took = semaphore.acquire(timeout=TIMEOUT)
    before = atomic.fetch_add(1)
    counters.fetch_add(1, 1)
    return was_set, took, before, counters.load(1)


@pytest.mark.parametrize("method", START_METHODS)
@pytest.mark.parametrize("channel", CHANNELS, ids=name_of)
def test_they_reach_other_processes_through_every_channel(
    method: str, channel: Callable[..., Any]
) -> None:
    event, semaphore = ms.Event(), ms.BoundedSemaphore(1)
    atomic, counters = ms.AtomicInt(41), ms.AtomicArray(2)
    event.set()
    things = (event, semaphore, atomic, counters)
    reply = channel(multiprocessing.get_context(method), use_all, things)
    assert reply == (True, True, 41, 1)
    # What the other process did is seen here.
    assert not event.is_set()
    assert semaphore.get_value() == 0
    assert atomic.load() == 42
    assert counters.tolist() == [0, 1]


def count_up(counter: Any, counters: Any, times: int, start: Any) -> None:
    start.wait(TIMEOUT)  # all at once, so that they contend
    for _ in range(times):
        counter.fetch_add(1)
        counters.fetch_add(1, 1)


def test_eight_processes_count_exactly_with_fetch_add() -> None:
    counter, counters = ms.AtomicInt(), ms.AtomicArray(2)
    times = 20_000
    run_contending(count_up, (counter, counters, times))
    assert counter.load() == 8 * times
    assert counters.tolist() == [0, 8 * times]


def pass_turns(ping: Any, pong: Any, rounds: int) -> None:
    for _ in range(rounds):
        assert ping.wait(TIMEOUT)
        ping.clear()
        pong.set()


def test_two_processes_take_turns_through_events() -> None:
    ping, pong, rounds = ms.Event(), ms.Event(), 500
    other = multiprocessing.get_context("spawn").Process(
        target=pass_turns, args=(ping, pong, rounds)
    )
    other.start()
    for _ in range(rounds):
        ping.set()
        assert pong.wait(TIMEOUT)
        pong.clear()
    other.join(TIMEOUT)
    assert other.exitcode == 0


def take_one(semaphore: Any, taken: Any) -> None:
    if semaphore.acquire(timeout=TIMEOUT):
        taken.fetch_add(1)


def test_a_semaphore_lets_exactly_its_value_through_across_processes() -> None:
    ctx = multiprocessing.get_context("spawn")
    semaphore, taken = ms.Semaphore(0), ms.AtomicInt()
    workers = [ctx.Process(target=take_one, args=(semaphore, taken)) for _ in range(8)]
    for worker in workers:
        worker.start()
    semaphore.release(5)
    assert wait_for(lambda: taken.load() == 5)
    time.sleep(0.2)
    assert taken.load() == 5  # not one more
    semaphore.release(3)
    for worker in workers:
        worker.join(TIMEOUT)
    assert taken.load() == 8


@pytest.mark.parametrize("kind", ["wait", "acquire"])
def test_ctrl_c_interrupts_a_wait(kind: str) -> None:
    waits = ms.Event() if kind == "wait" else ms.Semaphore(0)
    line, elapsed = interrupt_waiting(waits, kind)
    assert line.startswith("interrupted")
    assert elapsed < 1


# -- the interpreter's exit --------------------------------------------------------------

DAEMONS_AT_EXIT = """
import sys, threading, time
import memshare as ms

lock, rlock = ms.Lock(), ms.RLock()
lock.acquire()
rlock.acquire()
condition = ms.Condition(ms.Lock())
queue = ms.Queue()
waits = {
    "Lock.acquire": lambda timeout: lock.acquire(timeout=timeout or -1),
    "RLock.acquire": lambda timeout: rlock.acquire(timeout=timeout or -1),
    "Event.wait": ms.Event().wait,
    "Semaphore.acquire": lambda timeout: ms.Semaphore(0).acquire(timeout=timeout),
    "Condition.wait": lambda timeout: condition.acquire() and condition.wait(timeout),
    "Barrier.wait": lambda timeout: ms.Barrier(2).wait(timeout),
    "Queue.get": lambda timeout: queue.get(timeout=timeout),
}
wait = waits[sys.argv[1]]


def forever():
    wait(None)


def again_and_again():  # takes the GIL back between waits, while exiting too
    while True:
        try:
            wait(0.001)
        except Exception:
            pass


for target in (forever, again_and_again):
    threading.Thread(target=target, daemon=True).start()
time.sleep(0.2)
print("exiting", flush=True)
"""


@pytest.mark.parametrize(
    "wait",
    [
        "Lock.acquire",
        "RLock.acquire",
        "Event.wait",
        "Semaphore.acquire",
        "Condition.wait",
        "Barrier.wait",
        "Queue.get",
    ],
)
def test_daemon_threads_waiting_when_the_interpreter_exits_let_it_exit(
    wait: str,
) -> None:
    # CPython ends such threads by pthread_exit() once it finalizes; that
    # must not abort the process ("terminate called without an active
    # exception") wherever in a wait it happens.
    for _ in range(3):  # the moment it happens at varies
        done = subprocess.run(
            [sys.executable, "-c", DAEMONS_AT_EXIT, wait],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert (done.returncode, done.stdout, done.stderr) == (0, "exiting\n", "")


def _held_lock() -> tuple[Any, Callable[[], None]]:
    lock = ms.Lock()
    lock.acquire()
    return lock, lock.release


def _unset_event() -> tuple[Any, Callable[[], None]]:
    event = ms.Event()
    return event, event.set


def _empty_semaphore() -> tuple[Any, Callable[[], None]]:
    semaphore = ms.Semaphore(0)
    return semaphore, semaphore.release


@pytest.mark.parametrize("make", [_held_lock, _unset_event, _empty_semaphore])
def test_a_timeout_of_timeout_max_waits_as_long_as_it_takes(
    make: Callable[[], tuple[Any, Callable[[], None]]],
) -> None:
    # now + threading.TIMEOUT_MAX overflowed the clock: the wait gave up at once.
    primitive, wake = make()
    waiting = primitive.wait if isinstance(primitive, ms.Event) else primitive.acquire
    timer = threading.Timer(0.2, wake)
    timer.start()
    assert waiting(timeout=threading.TIMEOUT_MAX) is True
    timer.join()
