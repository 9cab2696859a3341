"""ms.ProcessPoolExecutor does what concurrent.futures' does: each scenario
runs against both, under fork, spawn and forkserver."""

from __future__ import annotations

import concurrent.futures as cf
import concurrent.futures.process
import itertools
import multiprocessing
import pickle
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from pool_tasks import fail, fill, get_global, mul, pid_of, set_global, sqr
from support import START_METHODS

import memshare as ms

KINDS = ["concurrent.futures", "memshare"]
# concurrent.futures' executor takes max_tasks_per_child from Python 3.11 on;
# memshare's takes it on every Python.
KINDS_WITH_MAX_TASKS = [
    pytest.param(
        "concurrent.futures",
        marks=pytest.mark.skipif(
            sys.version_info < (3, 11),
            reason="concurrent.futures takes max_tasks_per_child from Python 3.11",
        ),
    ),
    "memshare",
]


def make(kind: str, method: str, *args: Any, **kwds: Any) -> Any:
    kinds = {
        "memshare": ms.ProcessPoolExecutor,
        "concurrent.futures": cf.ProcessPoolExecutor,
    }
    return kinds[kind](*args, mp_context=multiprocessing.get_context(method), **kwds)


@pytest.fixture(
    scope="module",
    params=itertools.product(KINDS, START_METHODS),
    ids=lambda p: "-".join(p),
)
def executor(request: pytest.FixtureRequest) -> Iterator[Any]:
    made = make(*request.param, 2)
    yield made
    made.shutdown()


def test_submit(executor: Any) -> None:
    future = executor.submit(sqr, 6)
    assert isinstance(future, cf.Future)
    assert future.result(30) == 36
    assert executor.submit(mul, 3, y=4).result(30) == 12
    assert future.done()
    assert not future.running()
    assert not future.cancelled()


def test_exceptions(executor: Any) -> None:
    future = executor.submit(fail, "broken")
    error = future.exception(30)
    assert isinstance(error, ValueError)
    with pytest.raises(ValueError, match="broken") as raised:
        future.result()
    cause = raised.value.__cause__
    assert type(cause) is concurrent.futures.process._RemoteTraceback  # type: ignore[attr-defined]
    assert "raise ValueError(message)  # the line the remote traceback shows" in str(
        cause
    )


def test_timeouts(executor: Any) -> None:
    future = executor.submit(sqr, 2, 0.5)
    with pytest.raises(cf.TimeoutError):
        future.result(timeout=0.01)
    with pytest.raises(cf.TimeoutError):
        future.exception(timeout=0.01)
    assert future.result(30) == 4


def test_done_callbacks_wait_and_as_completed(executor: Any) -> None:
    seen: list[int] = []
    done = threading.Event()
    future = executor.submit(sqr, 3)
    future.add_done_callback(lambda f: (seen.append(f.result()), done.set()))
    assert done.wait(30)  # without result(): the pool's thread runs it
    assert seen == [9]
    futures = [executor.submit(sqr, x, 0.01 * x) for x in range(6)]
    finished, left = cf.wait(futures, timeout=30)
    assert finished == set(futures)
    assert not left
    futures = [executor.submit(sqr, x) for x in range(6)]
    assert sorted(f.result() for f in cf.as_completed(futures, timeout=30)) == [
        x * x for x in range(6)
    ]
    first = [executor.submit(sqr, 1), executor.submit(sqr, 2, 5)]
    finished, left = cf.wait(first, timeout=30, return_when=cf.FIRST_COMPLETED)
    assert first[0] in finished
    first[1].result(30)


def test_map(executor: Any) -> None:
    assert list(executor.map(sqr, range(10))) == [x * x for x in range(10)]
    assert list(executor.map(mul, range(30), range(30), chunksize=7)) == [
        x * x for x in range(30)
    ]
    assert list(executor.map(sqr, [])) == []
    results = executor.map(sqr, [1, 2], [0, 2])
    assert next(results) == 1
    with pytest.raises(cf.TimeoutError):
        list(executor.map(sqr, [1, 2], [0, 2], timeout=0.5))
    with pytest.raises(ValueError, match="chunksize"):
        executor.map(sqr, [1], chunksize=0)
    it = executor.map(fail, ["in map"])
    with pytest.raises(ValueError, match="in map"):
        next(it)


def test_workers_write_into_shared_arrays(executor: Any) -> None:
    a = ms.zeros((3, 100))
    list(executor.map(fill, [a[i] for i in range(3)], [1.0, 2.0, 3.0]))
    assert (a == np.array([1.0, 2.0, 3.0])[:, None]).all()


def test_unpicklable(executor: Any) -> None:
    with pytest.raises((AttributeError, pickle.PicklingError)):
        executor.submit(lambda: 1).result(30)
    assert executor.submit(sqr, 2).result(30) == 4


@pytest.mark.parametrize("kind", KINDS)
def test_shutdown_and_cancel(kind: str) -> None:
    pool = make(kind, "spawn", 1)
    pool.submit(sqr, 1).result(30)
    futures = [pool.submit(sqr, x, 0.1) for x in range(30)]
    pool.shutdown(wait=True, cancel_futures=True)
    cancelled = [f for f in futures if f.cancelled()]
    assert len(cancelled) > 20
    assert all(f.result() == x * x for x, f in enumerate(futures) if not f.cancelled())
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(sqr, 1)
    pool.shutdown()  # again: nothing


@pytest.mark.parametrize("kind", KINDS)
def test_slow_tasks_after_tiny_ones_stay_cancellable(kind: str) -> None:
    # memshare sends tiny tasks many at a time; slow ones that come after a
    # pause wait as pending futures again, as the standard library's do.
    with make(kind, "spawn", 1) as pool:
        assert list(pool.map(sqr, range(5000))) == [x * x for x in range(5000)]
        time.sleep(0.05)
        futures = [pool.submit(sqr, x, 0.2) for x in range(10)]
        cancelled = sum(future.cancel() for future in futures)
    assert cancelled >= 7


@pytest.mark.parametrize("kind", KINDS)
def test_shutdown_without_waiting_still_runs_the_tasks(kind: str) -> None:
    pool = make(kind, "spawn", 2)
    futures = [pool.submit(sqr, x, 0.05) for x in range(10)]
    pool.shutdown(wait=False)
    assert [f.result(30) for f in futures] == [x * x for x in range(10)]


@pytest.mark.parametrize("kind", KINDS)
def test_leaving_map_early_cancels_the_rest(kind: str) -> None:
    with make(kind, "spawn", 1) as pool:
        results = pool.map(sqr, range(40), [0.05] * 40)
        assert next(results) == 0
        started = time.monotonic()
        results.close()
    assert time.monotonic() - started < 1.5  # not all 40 run


@pytest.mark.parametrize("kind", KINDS)
def test_initializer(kind: str) -> None:
    with make(kind, "spawn", 1, initializer=set_global, initargs=(5,)) as pool:
        assert pool.submit(get_global).result(30) == 5


@pytest.mark.parametrize("kind", KINDS_WITH_MAX_TASKS)
def test_max_tasks_per_child(kind: str) -> None:
    with make(kind, "spawn", 1, max_tasks_per_child=2) as pool:
        pids = [pool.submit(pid_of).result(30) for _ in range(6)]
    assert len(set(pids)) == 3


@pytest.mark.parametrize("kind", KINDS)
def test_arguments_checked(kind: str) -> None:
    with pytest.raises(ValueError, match="max_workers"):
        make(kind, "spawn", 0)
    with pytest.raises(TypeError, match="callable"):
        make(kind, "spawn", 1, initializer=3)


@pytest.mark.parametrize("kind", KINDS_WITH_MAX_TASKS)
def test_max_tasks_per_child_checked(kind: str) -> None:
    with pytest.raises(ValueError, match="max_tasks_per_child"):
        make(kind, "spawn", 1, max_tasks_per_child=0)
    with pytest.raises(ValueError, match="'fork'"):
        make(kind, "fork", 1, max_tasks_per_child=2)
