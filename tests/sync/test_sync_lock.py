"""memshare.Lock and RLock: threading's interface, in shared memory, robust
to the death of their holder, and reachable from every other process."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from channels import CHANNELS, name_of
from support import (
    START_METHODS,
    interrupt_waiting,
    is_zombie,
    run_contending,
    wait_for,
)

import memshare as ms

TIMEOUT = 60


# -- the interface of threading's locks -------------------------------------------------


@pytest.mark.parametrize("kind", [ms.Lock, threading.Lock])
def test_acquire_and_release_as_threading(kind: Callable[[], Any]) -> None:
    lock = kind()
    assert lock.locked() is False
    assert lock.acquire() is True
    assert lock.locked() is True
    assert lock.acquire(False) is False
    assert lock.acquire(blocking=False) is False
    lock.release()
    with lock:
        assert lock.locked()
    assert not lock.locked()
    with pytest.raises(RuntimeError, match="release unlocked lock"):
        lock.release()


@pytest.mark.parametrize("kind", [ms.Lock, threading.Lock])
@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"blocking": False, "timeout": 1}, ValueError),
        ({"timeout": -2}, ValueError),
        ({"timeout": "1"}, TypeError),
        ({"timeout": 1e300}, OverflowError),
    ],
)
def test_bad_timeouts_are_refused_as_threading(
    kind: Callable[[], Any], arguments: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        kind().acquire(**arguments)


def hold_in_a_thread(lock: Any) -> Callable[[], None]:
    """Has another thread hold `lock`; returns what makes it let go."""
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            held.set()
            done.wait(TIMEOUT)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(TIMEOUT)

    def let_go() -> None:
        done.set()
        holder.join(TIMEOUT)

    return let_go


def test_a_timeout_gives_up_in_time() -> None:
    lock = ms.Lock()
    let_go = hold_in_a_thread(lock)
    start = time.monotonic()
    assert lock.acquire(timeout=0.2) is False
    assert 0.19 < time.monotonic() - start < 2
    assert lock.acquire(timeout=0) is False
    let_go()
    assert lock.acquire(timeout=0) is True
    lock.release()


@pytest.mark.parametrize("kind", [ms.Lock, threading.Lock])
def test_a_thread_that_ends_holding_a_lock_leaves_it_held_as_threading(
    kind: Callable[[], Any],
) -> None:
    # Owner death is a property of processes: this one still runs.
    lock = kind()
    holder = threading.Thread(target=lock.acquire)
    holder.start()
    holder.join()
    assert lock.acquire(timeout=0.05) is False
    lock.release()  # by another thread than the one that acquired it
    assert lock.acquire(timeout=0) is True
    lock.release()


def test_waiting_lets_other_threads_run_and_wakes_on_release() -> None:
    lock, order = ms.Lock(), []
    lock.acquire()

    def wait() -> None:
        with lock:
            order.append("waiter")

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.1)  # the waiter waits without the GIL: this thread runs
    order.append("holder")
    lock.release()
    waiter.join(TIMEOUT)
    assert order == ["holder", "waiter"]


def release_in_a_thread(lock: Any) -> list[BaseException]:
    """Release `lock` from another thread: what that raised."""
    errors: list[BaseException] = []

    def release() -> None:
        try:
            lock.release()
        except RuntimeError as error:
            errors.append(error)

    other = threading.Thread(target=release)
    other.start()
    other.join()
    return errors


@pytest.mark.parametrize("kind", [ms.Lock, threading.Lock])
def test_any_thread_may_release_a_lock_as_threading(kind: Callable[[], Any]) -> None:
    lock = kind()
    lock.acquire()
    assert release_in_a_thread(lock) == []
    assert not lock.locked()


@pytest.mark.parametrize("kind", [ms.RLock, threading.RLock])
def test_only_the_holder_releases_an_rlock_as_threading(
    kind: Callable[[], Any],
) -> None:
    lock = kind()
    lock.acquire()
    errors = release_in_a_thread(lock)
    assert "cannot release un-acquired lock" in str(errors[0])
    assert lock._is_owned()
    lock.release()


@pytest.mark.parametrize("kind", [ms.Lock, threading.Lock])
def test_acquiring_a_held_lock_again_waits_as_threading(
    kind: Callable[[], Any],
) -> None:
    lock = kind()
    lock.acquire()
    start = time.monotonic()
    assert lock.acquire(timeout=0.1) is False
    assert time.monotonic() - start >= 0.09
    assert lock.acquire(False) is False
    lock.release()


def test_threading_condition_works_with_an_rlock() -> None:
    # threading.Condition asks an RLock for _is_owned, _release_save and
    # _acquire_restore.
    lock = ms.RLock()
    condition = threading.Condition(lock)
    ready: list[int] = []

    def notify() -> None:
        with condition:
            ready.append(1)
            condition.notify()

    with condition, lock:  # held twice: wait() releases both
        other = threading.Thread(target=notify)
        other.start()
        assert condition.wait_for(lambda: ready, TIMEOUT)
        assert lock._recursion_count() == 2
    other.join(TIMEOUT)
    assert lock._recursion_count() == 0
    with pytest.raises(RuntimeError, match="un-acquired"):
        lock._release_save()


@pytest.mark.parametrize("kind", [ms.RLock, threading.RLock])
def test_an_rlock_is_reentrant_as_threading(kind: Callable[[], Any]) -> None:
    lock = kind()
    assert lock.acquire()
    assert lock.acquire()
    lock.release()
    lock.release()
    with pytest.raises(RuntimeError, match="cannot release un-acquired lock"):
        lock.release()
    with lock, lock:
        pass


# -- where a lock lives ------------------------------------------------------------------


def test_a_lock_placed_in_an_array_is_found_there() -> None:
    segment = ms.zeros(4096, np.uint8)
    made = ms.Lock(buffer=segment, offset=64)
    found = ms.Lock.at(segment, 64)
    made.acquire()
    assert found.locked()
    assert found.acquire(False) is False
    made.release()
    assert found.acquire(False) is True
    found.release()
    where = ms.backing(segment)
    assert ms.backing(made.cell) == ms.Backing(
        where.kind, where.name, 64, ms.LOCK_SIZE, where.size
    )


def test_a_lock_in_a_named_segment_is_found_by_another_process(shm_name: str) -> None:
    segment = ms.zeros(1024, np.uint8, name=shm_name)
    lock = ms.Lock(buffer=segment, offset=256)
    lock.acquire()
    code = (
        "import memshare as ms, sys\n"
        f"lock = ms.Lock.at(ms.attach({shm_name!r}), 256)\n"
        "sys.exit(0 if lock.locked() and not lock.acquire(False) else 1)\n"
    )
    found = subprocess.run([sys.executable, "-c", code], check=False, timeout=TIMEOUT)
    assert found.returncode == 0
    lock.release()
    del lock, segment
    ms.unlink(shm_name)


def test_a_lock_placed_in_a_shared_memory_block_goes_by_its_name(shm_name: str) -> None:
    block = ms.SharedMemory(shm_name, create=True, size=4096)
    lock = ms.Lock(buffer=block.buf, offset=128)
    with lock:
        reply = through_pool_of("spawn", lock)
        code = (
            "import memshare as ms, sys\n"
            f"block = ms.SharedMemory({shm_name!r})\n"
            "lock = ms.Lock.at(block.buf, 128)\n"
            "sys.exit(0 if lock.locked() and not lock.acquire(False) else 1)\n"
        )
        found = subprocess.run(
            [sys.executable, "-c", code], check=False, timeout=TIMEOUT
        )
    assert reply == (True, False)
    assert found.returncode == 0
    del lock
    block.close()
    block.unlink()


def through_pool_of(method: str, value: Any) -> Any:
    with multiprocessing.get_context(method).Pool(1) as pool:
        return pool.apply(report_held, (value,))


@pytest.mark.parametrize(
    ("place", "message"),
    [
        (lambda s: ms.Lock(buffer=s, offset=4), "multiple of 8"),
        (lambda s: ms.Lock(buffer=s, offset=1008), "does not leave room"),
        (lambda s: ms.Lock(buffer=s, offset=-8), "does not leave room"),
        (lambda s: ms.Lock(buffer=s[::2]), "contiguous"),
        (lambda s: ms.Lock(buffer=np.zeros(64, np.uint8)), "memory memshare shares"),
        (lambda s: ms.Lock(offset=8), "none was given"),
        (lambda s: ms.Lock.at(s, 0), "no memshare primitive is there"),
        (lambda s: ms.RLock.at(s, 512), "a Lock is there, not an RLock"),
    ],
)
def test_bad_places_are_refused(place: Callable[[Any], Any], message: str) -> None:
    segment = ms.zeros(1024, np.uint8)
    ms.Lock(buffer=segment, offset=512)
    with pytest.raises(ValueError, match=message):
        place(segment)


def test_a_read_only_buffer_is_refused() -> None:
    segment = ms.zeros(1024, np.uint8)
    segment.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        ms.Lock(buffer=segment)


def test_pickle_refuses_to_copy_a_lock() -> None:
    with pytest.raises(TypeError, match="send it through multiprocessing"):
        pickle.dumps(ms.Lock())


# -- other processes ---------------------------------------------------------------------


def report_held(lock: Any) -> tuple[bool, bool]:
    return lock.locked(), lock.acquire(timeout=0.01)


def release(lock: Any) -> bool:
    lock.release()
    return lock.locked()


@pytest.mark.parametrize("method", START_METHODS)
@pytest.mark.parametrize("channel", CHANNELS, ids=name_of)
@pytest.mark.parametrize("kind", [ms.Lock, ms.RLock])
def test_a_lock_reaches_other_processes_through_every_channel(
    method: str, channel: Callable[..., Any], kind: Callable[[], Any]
) -> None:
    lock = kind()
    with lock:  # held here: the other process sees it held
        reply = channel(multiprocessing.get_context(method), report_held, lock)
    assert reply == (True, False)


@pytest.mark.parametrize("method", START_METHODS)
def test_another_process_may_release_a_lock(method: str) -> None:
    # As multiprocessing.Lock: one process takes it, another lets it go.
    lock = ms.Lock()
    lock.acquire()
    with multiprocessing.get_context(method).Pool(1) as pool:
        assert pool.apply(release, (lock,)) is False
    assert lock.acquire(timeout=0) is True
    lock.release()


def test_an_rlock_is_released_only_in_the_process_that_holds_it() -> None:
    lock = ms.RLock()
    with lock, multiprocessing.get_context("spawn").Pool(1) as pool:
        with pytest.raises(RuntimeError, match="un-acquired"):
            pool.apply(release, (lock,))
        assert lock._is_owned()


def add_under_lock(lock: Any, counter: Any, times: int, start: Any) -> None:
    start.wait(TIMEOUT)  # all at once, so that they contend
    for _ in range(times):
        with lock:
            # A read and a write apart: without the lock, increments get lost.
            value = int(counter[0])
            counter[0] = value + 1


def test_eight_processes_count_exactly_under_the_lock() -> None:
    counter, lock = ms.zeros(1, np.int64), ms.Lock()
    times = 20_000  # without the lock, most increments are lost (measured)
    run_contending(add_under_lock, (lock, counter, times))
    assert int(counter[0]) == 8 * times


# -- a holder that dies, and Ctrl-C ----------------------------------------------------------


def hold_and_wait(lock: Any, ready: Any) -> None:
    lock.acquire()
    ready.send("holding")
    time.sleep(600)


def held_by_a_killed_process(kind: Callable[[], Any], reaped: bool) -> Any:
    """A lock of `kind` whose holder was SIGKILLed; `reaped`: waited for (if
    not, it stays a zombie until the test ends)."""
    ctx = multiprocessing.get_context("spawn")
    lock = kind()
    waiting, ready = ctx.Pipe(duplex=False)
    holder = ctx.Process(target=hold_and_wait, args=(lock, ready))
    holder.start()
    assert waiting.recv() == "holding"
    os.kill(holder.pid, signal.SIGKILL)
    if reaped:
        holder.join(TIMEOUT)
    else:
        assert wait_for(lambda: is_zombie(holder.pid))
    return lock, holder


ACQUIRES = {
    "blocking": lambda lock: lock.acquire(),
    "with a timeout": lambda lock: lock.acquire(timeout=TIMEOUT),
    "non-blocking": lambda lock: lock.acquire(False),
    "with": lambda lock: lock.__enter__(),
}


@pytest.mark.parametrize("reaped", [True, False], ids=["reaped", "zombie"])
@pytest.mark.parametrize("how", ACQUIRES)
@pytest.mark.parametrize("kind", [ms.Lock, ms.RLock])
def test_the_next_acquirer_of_a_dead_holders_lock_gets_it_and_is_told(
    kind: Callable[[], Any], how: str, reaped: bool
) -> None:
    lock, holder = held_by_a_killed_process(kind, reaped)
    with pytest.raises(ms.OwnerDiedError, match="check what it guards"):
        ACQUIRES[how](lock)
    assert lock.locked()  # held by this thread, and not poisoned:
    lock.release()
    assert lock.acquire(timeout=1) is True
    lock.release()
    holder.join(TIMEOUT)


@pytest.mark.parametrize("kind", [ms.Lock, ms.RLock])
def test_a_waiter_blocked_when_the_holder_dies_is_told_at_once(
    kind: Callable[[], Any],
) -> None:
    ctx = multiprocessing.get_context("spawn")
    lock = kind()
    waiting, ready = ctx.Pipe(duplex=False)
    holder = ctx.Process(target=hold_and_wait, args=(lock, ready))
    holder.start()
    assert waiting.recv() == "holding"
    outcome: list[object] = []

    def wait() -> None:
        try:
            outcome.append(lock.acquire(timeout=TIMEOUT))
        except ms.OwnerDiedError as error:
            outcome.append(time.monotonic())
            outcome.append(error)
            lock.release()

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.2)  # asleep in the kernel by now
    killed = time.monotonic()
    os.kill(holder.pid, signal.SIGKILL)  # not reaped before the waiter hears
    waiter.join(TIMEOUT)
    holder.join(TIMEOUT)
    told, error = outcome
    assert isinstance(error, ms.OwnerDiedError)
    # Waiters look at the holder every slice of 20 ms: well within the
    # timeout of 60 s, which a waiter that never looked would reach.
    assert told - killed < 5


def test_a_holder_whose_pid_went_to_another_process_is_dead() -> None:
    # The lock records its holder's pid and start time: a pid that now
    # belongs to a later process (here, one started after this one, the
    # holder) is not the holder.
    lock = ms.Lock()
    lock.acquire()
    state = lock.cell[8:16].view(np.uint32)
    assert state[0] == os.getpid()
    with subprocess.Popen(["sleep", "60"]) as later:
        state[0] = later.pid
        with pytest.raises(ms.OwnerDiedError):
            lock.acquire(False)
        later.kill()
    lock.release()
    # And this process's own pid, recorded by an earlier process that had it.
    lock.acquire()
    state[1] += 1
    with pytest.raises(ms.OwnerDiedError):
        lock.acquire(False)
    lock.release()


def test_ctrl_c_interrupts_a_waiting_acquire() -> None:
    lock = ms.Lock()
    with lock:
        line, elapsed = interrupt_waiting(lock, "acquire")
    assert line.startswith("interrupted")
    assert elapsed < 1
