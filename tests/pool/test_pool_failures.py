"""What goes wrong in a pool is an error of the task it touches, never a
hang: workers killed or exiting mid-task, initializers that raise, tasks
that cannot be received, results that cannot be read, callbacks that
raise, a pool terminated with work left."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import pytest
from pool_tasks import sqr
from support import START_METHODS, wait_for

import memshare as ms


def die_at(x: int, at: int = 3) -> int:
    if x == at:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.05)
    return x


def exit_with(code: int) -> None:
    os._exit(code)


def system_exit() -> None:
    sys.exit(4)


def broken_initializer() -> None:
    raise ValueError("the initializer failed")


def raising_in_parent() -> None:
    # Unpickled in the worker, it raises only in the process that made
    # the pool.
    if multiprocessing.parent_process() is None:
        raise OSError("not here")


class ArrivesBroken:
    """Pickles, but raises when unpickled in a worker."""

    def __reduce__(self) -> Any:
        return arrive, ()


def arrive() -> None:
    if multiprocessing.parent_process() is not None:
        raise LookupError("could not be received")


class LeavesBroken:
    """A result that unpickles in the worker's parent only with an error."""

    def __reduce__(self) -> Any:
        return raising_in_parent, ()


def broken_result() -> LeavesBroken:
    return LeavesBroken()


def executor(method: str, **kwds: Any) -> ms.ProcessPoolExecutor:
    return ms.ProcessPoolExecutor(2, multiprocessing.get_context(method), **kwds)


def pool(method: str, *args: Any, **kwds: Any) -> ms.Pool:
    return ms.Pool(2, *args, context=multiprocessing.get_context(method), **kwds)


@pytest.mark.parametrize("method", START_METHODS)
def test_a_killed_worker_fails_its_task_and_the_pool_goes_on(method: str) -> None:
    with pool(method) as p:
        results = [p.apply_async(die_at, (x,)) for x in range(8)]
        for x, result in enumerate(results):
            if x == 3:
                with pytest.raises(
                    ms.WorkerLostError, match="killed by SIGKILL"
                ) as lost:
                    result.get(30)
                assert isinstance(lost.value, BrokenProcessPool)
                assert lost.value.exitcode == -signal.SIGKILL
                assert f"(pid {lost.value.pid})" in str(lost.value)
            else:
                assert result.get(30) == x
        assert p.map(sqr, range(20)) == [x * x for x in range(20)]
        assert wait_for(
            lambda: len(p._pool) == 2 and all(w.is_alive() for w in p._pool)
        )


@pytest.mark.parametrize("method", START_METHODS)
def test_a_killed_worker_fails_its_future_and_the_others_finish(method: str) -> None:
    with executor(method) as pool:
        futures = [pool.submit(die_at, x) for x in range(8)]
        with pytest.raises(ms.WorkerLostError, match="SIGKILL"):
            futures[3].result(30)
        assert [f.result(30) for i, f in enumerate(futures) if i != 3] == [
            0,
            1,
            2,
            4,
            5,
            6,
            7,
        ]
        assert pool.submit(sqr, 5).result(30) == 25


def test_a_task_that_kills_its_worker_in_a_map() -> None:
    with pool("spawn") as p:
        with pytest.raises(ms.WorkerLostError):
            p.map(die_at, range(6), chunksize=1)
        assert list(p.imap(sqr, range(5))) == [0, 1, 4, 9, 16]


def test_exit_and_system_exit_in_a_task() -> None:
    with pool("spawn") as p:
        with pytest.raises(ms.WorkerLostError, match="exited with code 3"):
            p.apply(exit_with, (3,))
        with pytest.raises(SystemExit):  # multiprocessing's worker dies of it
            p.apply(system_exit)
        assert p.apply(sqr, (6,)) == 36


@pytest.mark.parametrize("method", START_METHODS)
def test_an_initializer_that_raises_breaks_the_pool(method: str) -> None:
    p = pool(method, broken_initializer)
    with pytest.raises(BrokenProcessPool, match="initializer") as broken:
        p.apply(sqr, (2,))
    assert isinstance(broken.value.__cause__, ValueError)
    with pytest.raises(BrokenProcessPool):
        p.apply_async(sqr, (2,))
    p.terminate()
    p.join()
    ex = executor(method, initializer=broken_initializer)
    with pytest.raises(BrokenProcessPool):
        ex.submit(sqr, 2).result(30)
    with pytest.raises(BrokenProcessPool):
        ex.submit(sqr, 2)
    ex.shutdown()


def test_a_task_that_cannot_be_received_fails_alone() -> None:
    with pool("spawn") as p:
        with pytest.raises(ms.TaskTransferError, match="LookupError") as raised:
            p.apply(sqr, (ArrivesBroken(),))
        assert "could not be received by its worker" in str(raised.value)
        assert "raise LookupError" in str(raised.value.__cause__)  # the traceback
        assert p.apply(sqr, (3,)) == 9


def test_a_result_that_cannot_be_read_fails_alone() -> None:
    with pool("spawn") as p:
        with pytest.raises(
            ms.TaskTransferError, match="could not be received"
        ) as raised:
            p.apply(broken_result)
        assert isinstance(raised.value.__cause__, OSError)
        assert p.map(sqr, range(3)) == [0, 1, 4]


def test_a_callback_that_raises_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    def callback(value: int) -> None:
        raise ZeroDivisionError(value)

    with pool("spawn") as p, caplog.at_level(logging.ERROR, "memshare.pool"):
        assert p.apply_async(sqr, (2,), callback=callback).get(30) == 4
        assert p.apply(sqr, (3,)) == 9
    assert "exception calling callback" in caplog.text
    assert "ZeroDivisionError" in caplog.text


def test_terminate_fails_what_is_left() -> None:
    p = pool("spawn")
    left = p.map_async(time.sleep, [30] * 20, chunksize=1)
    one = p.apply_async(time.sleep, (30,))
    time.sleep(0.5)
    start = time.monotonic()
    p.terminate()
    assert time.monotonic() - start < 10
    with pytest.raises(BrokenProcessPool, match="terminated"):
        left.get(5)
    with pytest.raises(BrokenProcessPool, match="terminated"):
        one.get(5)
    p.join()


def test_threads_share_a_pool() -> None:
    got: dict[int, list[int]] = {}

    def use(p: ms.Pool, n: int) -> None:
        got[n] = [p.apply(sqr, (n * 100 + i,)) for i in range(200)]

    with pool("spawn") as p:
        threads = [threading.Thread(target=use, args=(p, n)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert got == {n: [(n * 100 + i) ** 2 for i in range(200)] for n in range(4)}


def test_a_waiter_in_another_thread_is_woken() -> None:
    # One thread waits for a slow task while another takes results: the
    # second must hand the first its result.
    with pool("spawn") as p:
        slow = p.apply_async(time.sleep, (0.5,))
        waited: list[object] = []
        waiter = threading.Thread(target=lambda: waited.append(slow.get(30)))
        waiter.start()
        assert p.map(sqr, range(2000), 1) == [x * x for x in range(2000)]
        waiter.join(30)
        assert waited == [None]
