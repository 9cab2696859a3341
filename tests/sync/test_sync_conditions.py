"""memshare.Condition and Barrier: threading's interface, in shared memory,
across processes, and robust to a waiter that is killed."""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from channels import CHANNELS, name_of
from support import (
    START_METHODS,
    condition_waiters,
    interrupt_waiting,
    is_zombie,
    run_contending,
    wait_for,
)

import memshare as ms

TIMEOUT = 60


# -- Condition -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [ms.Condition, threading.Condition])
def test_a_condition_behaves_as_threading(kind: Callable[[], Any]) -> None:
    condition = kind()
    with pytest.raises(RuntimeError, match="cannot wait on un-acquired lock"):
        condition.wait(0)
    with pytest.raises(RuntimeError, match="cannot notify on un-acquired lock"):
        condition.notify()
    with condition:
        start = time.monotonic()
        assert condition.wait(0.1) is False
        assert time.monotonic() - start >= 0.09
        assert condition.wait_for(lambda: 5, timeout=0) == 5
        assert condition.wait_for(lambda: 0, timeout=0.05) == 0
        condition.notify()  # nobody waits: nothing happens
        condition.notify_all()


def test_notify_wakes_exactly_n_waiting_threads() -> None:
    condition, woken = ms.Condition(ms.Lock()), []

    def wait() -> None:
        with condition:
            woken.append(condition.wait(1))

    waiters = [threading.Thread(target=wait) for _ in range(5)]
    for waiter in waiters:
        waiter.start()
    assert wait_for(lambda: condition_waiters(condition) == 5)
    with condition:
        condition.notify(2)
    for waiter in waiters:
        waiter.join(TIMEOUT)
    assert sorted(woken) == [False] * 3 + [True] * 2


def test_an_rlock_held_twice_is_released_while_waiting() -> None:
    lock = ms.RLock()
    condition = ms.Condition(lock)
    with condition, condition:
        assert condition.wait(0.01) is False
        assert lock._depth() == 2  # held as before
    assert lock._depth() == 0


def test_a_condition_refuses_foreign_locks_and_bad_sizes() -> None:
    with pytest.raises(TypeError, match="memshare Lock or RLock"):
        ms.Condition(threading.Lock())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_waiters"):
        ms.Condition(max_waiters=0)
    full = ms.Condition(max_waiters=1)
    with full:
        blocker = threading.Thread(target=lambda: full_wait(full))
        blocker.start()
    assert wait_for(lambda: condition_waiters(full) == 1)
    with full, pytest.raises(RuntimeError, match="waiter slots is taken"):
        full.wait(0)
    with full:
        full.notify()
    blocker.join(TIMEOUT)


def full_wait(condition: Any) -> None:
    with condition:
        condition.wait(TIMEOUT)


def test_a_condition_placed_in_an_array_is_found_there() -> None:
    segment = ms.zeros(8192, np.uint8)
    lock = ms.Lock(buffer=segment, offset=0)
    made = ms.Condition(lock, max_waiters=8, buffer=segment, offset=64)
    found = ms.Condition.at(segment, 64, lock)
    assert found.max_waiters == made.max_waiters == 8
    with pytest.raises(TypeError, match="needs the lock"):
        ms.Condition.at(segment, 64)
    with pytest.raises(ValueError, match="no memshare primitive is there"):
        ms.Condition.at(segment, 4096, lock)


# -- Condition across processes -----------------------------------------------------------------


def consume(items: Any, condition: Any, taken: Any, start: Any) -> None:
    start.wait(TIMEOUT)
    with condition:
        assert condition.wait_for(lambda: items.load() > 0, timeout=TIMEOUT)
        items.fetch_add(-1)
        taken.fetch_add(1)


def test_consumers_in_eight_processes_take_what_is_produced() -> None:
    condition, items, taken = ms.Condition(ms.Lock()), ms.AtomicInt(), ms.AtomicInt()
    producer = threading.Thread(target=produce, args=(condition, items, 8))
    producer.start()
    run_contending(consume, (items, condition, taken))
    producer.join(TIMEOUT)
    assert taken.load() == 8
    assert items.load() == 0


def produce(condition: Any, items: Any, count: int) -> None:
    for _ in range(count):
        time.sleep(0.02)
        with condition:
            items.fetch_add(1)
            condition.notify()


def wait_and_report(condition: Any, woken: Any, ready: Any) -> None:
    with condition:
        ready.fetch_add(1)
        if condition.wait(TIMEOUT):
            woken.fetch_add(1)


def test_notify_wakes_exactly_n_waiting_processes() -> None:
    ctx = multiprocessing.get_context("spawn")
    condition, woken, ready = ms.Condition(ms.Lock()), ms.AtomicInt(), ms.AtomicInt()
    waiters = [
        ctx.Process(target=wait_and_report, args=(condition, woken, ready))
        for _ in range(8)
    ]
    for waiter in waiters:
        waiter.start()
    assert wait_for(lambda: ready.load() == 8 and condition_waiters(condition) == 8)
    with condition:
        condition.notify(3)
    assert wait_for(lambda: woken.load() == 3)
    time.sleep(0.2)
    assert woken.load() == 3  # not one more
    with condition:
        condition.notify(2)
    assert wait_for(lambda: woken.load() == 5)
    time.sleep(0.2)
    assert woken.load() == 5
    with condition:
        condition.notify_all()
    for waiter in waiters:
        waiter.join(TIMEOUT)
    assert woken.load() == 8


@pytest.mark.parametrize("reaped", [True, False], ids=["reaped", "zombie"])
def test_a_waiter_killed_in_wait_does_not_swallow_a_notify(reaped: bool) -> None:
    ctx = multiprocessing.get_context("spawn")
    condition, woken, ready = ms.Condition(ms.Lock()), ms.AtomicInt(), ms.AtomicInt()
    doomed = ctx.Process(target=wait_and_report, args=(condition, woken, ready))
    doomed.start()
    assert wait_for(lambda: condition_waiters(condition) == 1)  # the oldest waiter
    survivor = ctx.Process(target=wait_and_report, args=(condition, woken, ready))
    survivor.start()
    assert wait_for(lambda: condition_waiters(condition) == 2)
    os.kill(doomed.pid, signal.SIGKILL)
    if reaped:
        doomed.join(TIMEOUT)
    else:  # a zombie is dead too
        assert wait_for(lambda: is_zombie(doomed.pid))
    with condition:
        condition.notify(1)  # goes to the survivor, not to the dead
    survivor.join(TIMEOUT)
    doomed.join(TIMEOUT)
    assert survivor.exitcode == 0
    assert woken.load() == 1
    assert condition_waiters(condition) == 0  # the dead one's slot is free again


def hold_after_waking(condition: Any, ready: Any) -> None:
    with condition:
        ready.fetch_add(1)
        condition.wait(TIMEOUT)
        ready.fetch_add(1)
        time.sleep(600)  # killed here, holding the lock it took back


def test_a_waiter_killed_after_waking_leaves_the_lock_to_the_next_told() -> None:
    ctx = multiprocessing.get_context("spawn")
    lock = ms.Lock()
    condition, ready = ms.Condition(lock), ms.AtomicInt()
    waiter = ctx.Process(target=hold_after_waking, args=(condition, ready))
    waiter.start()
    assert wait_for(lambda: ready.load() == 1 and condition_waiters(condition) == 1)
    with condition:
        condition.notify()
    assert wait_for(lambda: ready.load() == 2)
    os.kill(waiter.pid, signal.SIGKILL)
    waiter.join(TIMEOUT)
    with pytest.raises(ms.OwnerDiedError):
        lock.acquire(timeout=TIMEOUT)
    lock.release()
    with condition:  # still a working Condition
        assert condition.wait(0.01) is False


def use_condition(condition: Any) -> tuple[bool, bool]:
    with condition:
        return condition.lock.locked(), condition.wait(0.01)


@pytest.mark.parametrize("method", START_METHODS)
@pytest.mark.parametrize("channel", CHANNELS, ids=name_of)
def test_a_condition_reaches_other_processes_through_every_channel(
    method: str, channel: Callable[..., Any]
) -> None:
    condition = ms.Condition()
    reply = channel(multiprocessing.get_context(method), use_condition, condition)
    assert reply == (True, False)


def test_ctrl_c_interrupts_a_condition_wait_which_takes_the_lock_back() -> None:
    condition = ms.Condition(ms.Lock())
    line, elapsed = interrupt_waiting(WaitingCondition(condition), "run")
    assert line.startswith("interrupted")
    assert elapsed < 1
    assert not condition.lock.locked()  # the interrupted waiter let go on exit


class WaitingCondition:
    """Holds the condition's lock and waits on it, when run()."""

    def __init__(self, condition: Any) -> None:
        self.condition = condition

    def run(self) -> None:
        with self.condition:
            self.condition.wait()


# -- Barrier -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [ms.Barrier, threading.Barrier])
def test_a_barrier_behaves_as_threading(kind: Callable[..., Any]) -> None:
    actions: list[str] = []
    barrier = kind(3, action=lambda: actions.append("done"))
    indices: list[int] = []
    parties = [
        threading.Thread(target=lambda: indices.append(barrier.wait(TIMEOUT)))
        for _ in range(3)
    ]
    for party in parties:
        party.start()
    for party in parties:
        party.join(TIMEOUT)
    assert sorted(indices) == [0, 1, 2]
    assert actions == ["done"]
    assert barrier.parties == 3
    assert barrier.n_waiting == 0
    assert barrier.broken is False
    with pytest.raises(threading.BrokenBarrierError):
        barrier.wait(0.05)  # a timeout breaks it
    assert barrier.broken is True
    with pytest.raises(threading.BrokenBarrierError):
        barrier.wait(0.05)
    barrier.reset()
    assert barrier.broken is False
    barrier.abort()
    assert barrier.broken is True


def test_a_failing_action_breaks_the_barrier_for_everyone() -> None:
    def fail() -> None:
        raise ZeroDivisionError

    barrier, outcomes = ms.Barrier(2, action=fail), []

    def wait() -> None:
        try:
            barrier.wait(TIMEOUT)
            outcomes.append("passed")
        except threading.BrokenBarrierError:
            outcomes.append("broken")
        except ZeroDivisionError:
            outcomes.append("action failed")

    parties = [threading.Thread(target=wait) for _ in range(2)]
    for party in parties:
        party.start()
    for party in parties:
        party.join(TIMEOUT)
    assert sorted(outcomes) == ["action failed", "broken"]


def test_reset_breaks_it_for_those_waiting_then_it_works() -> None:
    barrier, outcomes = ms.Barrier(2), []

    def wait() -> None:
        try:
            outcomes.append(barrier.wait(TIMEOUT))
        except threading.BrokenBarrierError:
            outcomes.append("broken")

    waiter = threading.Thread(target=wait)
    waiter.start()
    assert wait_for(lambda: barrier.n_waiting == 1)
    barrier.reset()
    waiter.join(TIMEOUT)
    assert outcomes == ["broken"]
    again = threading.Thread(target=wait)
    again.start()
    assert barrier.wait(TIMEOUT) in (0, 1)
    again.join(TIMEOUT)
    assert outcomes[1] in (0, 1)


@pytest.mark.parametrize("kind", [ms.Barrier, threading.Barrier])
def test_a_reset_at_once_after_a_release_breaks_nobody_released(
    kind: Callable[..., Any],
) -> None:
    # As Event.set() then clear(): the parties released wake released, even
    # if the barrier is reset (or used again) before they run.
    barrier = kind(5)
    with ThreadPoolExecutor(4) as pool:
        waiting = [pool.submit(barrier.wait, TIMEOUT) for _ in range(4)]
        assert wait_for(lambda: barrier.n_waiting == 4)
        time.sleep(0.1)  # asleep in the kernel by now
        last = barrier.wait(TIMEOUT)
        barrier.reset()
        indices = sorted([last, *(w.result(TIMEOUT) for w in waiting)])
    assert indices == [0, 1, 2, 3, 4]


def test_bad_barriers_are_refused() -> None:
    with pytest.raises(ValueError, match="parties"):
        ms.Barrier(0)
    segment = ms.zeros(1024, np.uint8)
    ms.Event(buffer=segment)
    with pytest.raises(ValueError, match="an Event is there, not a Barrier"):
        ms.Barrier.at(segment)


def meet_each_round(barrier: Any, rounds: Any, laps: int, start: Any) -> None:
    start.wait(TIMEOUT)
    for lap in range(laps):
        rounds.fetch_add(lap, 1)
        barrier.wait(TIMEOUT)
        # Everyone has counted this lap before anyone counts the next.
        assert rounds.load(lap) == barrier.parties


def test_a_barrier_releases_all_eight_processes_each_round() -> None:
    laps = 20
    barrier, rounds = ms.Barrier(8), ms.AtomicArray(laps)
    run_contending(meet_each_round, (barrier, rounds, laps))
    assert rounds.tolist() == [8] * laps


def break_it(barrier: Any) -> tuple[int, int, bool]:
    parties, waiting = barrier.parties, barrier.n_waiting
    barrier.abort()
    return parties, waiting, barrier.broken


@pytest.mark.parametrize("method", START_METHODS)
@pytest.mark.parametrize("channel", CHANNELS, ids=name_of)
def test_a_barrier_reaches_other_processes_through_every_channel(
    method: str, channel: Callable[..., Any]
) -> None:
    barrier = ms.Barrier(3)
    reply = channel(multiprocessing.get_context(method), break_it, barrier)
    assert reply == (3, 0, True)
    assert barrier.broken  # broken there, so broken here


def count_action(name: str) -> None:
    # Runs in whichever process arrives last: it finds the counter by name.
    ms.AtomicInt.at(ms.attach(name)).fetch_add(1)


def pass_barrier(barrier: Any) -> int:
    return barrier.wait(TIMEOUT)


@pytest.mark.parametrize("method", START_METHODS)
def test_a_barrier_reaches_other_processes_with_its_action(
    method: str, shm_name: str
) -> None:
    segment = ms.zeros(ms.ATOMIC_SIZE, np.uint8, name=shm_name)
    runs = ms.AtomicInt(buffer=segment)
    action = functools.partial(count_action, shm_name)
    barrier = ms.Barrier(2, action=action, timeout=TIMEOUT)
    with multiprocessing.get_context(method).Pool(1) as pool:
        for _ in range(3):
            other = pool.apply_async(pass_barrier, (barrier,))
            mine = barrier.wait()
            assert sorted([mine, other.get(TIMEOUT)]) == [0, 1]
    assert runs.load() == 3  # once a round, in whichever process came last
