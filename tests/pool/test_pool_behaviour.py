"""ms.Pool does what multiprocessing.Pool does: each scenario runs against
both, under fork, spawn and forkserver, and asserts the same outcome."""

from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.pool
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from pool_tasks import fail, fill, get_global, mul, pid_of, set_global, sqr
from support import START_METHODS

import memshare as ms

KINDS = ["multiprocessing", "memshare"]


def nap(x: int) -> int:
    time.sleep(0.3)
    return x


def unpicklable_result() -> Callable[[], int]:
    return lambda: 42


def raising_after(count: int) -> Iterator[int]:
    yield from range(count)
    raise KeyError("the input failed")


class Unpicklable:
    def __reduce__(self) -> Any:
        raise RuntimeError("cannot pickle")


def make_pool(kind: str, method: str, *args: Any, **kwds: Any) -> Any:
    context = multiprocessing.get_context(method)
    if kind == "memshare":
        return ms.Pool(*args, context=context, **kwds)
    return context.Pool(*args, **kwds)


@pytest.fixture(
    scope="module",
    params=itertools.product(KINDS, START_METHODS),
    ids=lambda p: "-".join(p),
)
def pool(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A pool of 2 of each kind and start method, for the module."""
    made = make_pool(*request.param, 2)
    yield made
    made.terminate()
    made.join()


def test_apply(pool: Any) -> None:
    assert pool.apply(sqr, (5,)) == 25
    assert pool.apply(sqr, (), {"x": 3}) == 9
    assert pool.apply(divmod, (7, 2)) == (3, 1)  # a built-in function


def test_apply_async_and_its_result(pool: Any) -> None:
    result = pool.apply_async(sqr, (7, 0.3))
    assert not result.ready()
    with pytest.raises(ValueError, match="not ready"):
        result.successful()
    with pytest.raises(multiprocessing.TimeoutError):
        result.get(timeout=0.01)
    result.wait(0.01)
    assert not result.ready()
    assert result.get(timeout=30) == 49
    assert result.ready()
    assert result.successful()


def test_callbacks_run_before_the_result_is_ready(pool: Any) -> None:
    seen: list[object] = []
    done = threading.Event()

    def callback(value: object) -> None:
        seen.append(value)
        done.set()

    result = pool.apply_async(sqr, (4,), callback=callback, error_callback=seen.append)
    assert done.wait(30)  # without any get(): the pool's thread runs it
    assert result.get() == 16
    failed = pool.apply_async(
        fail, ("no",), callback=seen.append, error_callback=seen.append
    )
    with pytest.raises(ValueError, match="no"):
        failed.get(30)
    assert seen[0] == 16
    assert isinstance(seen[1], ValueError)
    mapped = pool.map_async(int, ["1", "2"], callback=seen.append)
    assert mapped.get(30) == [1, 2]
    assert seen[2] == [1, 2]


def test_maps(pool: Any) -> None:
    assert pool.map(sqr, range(10)) == [x * x for x in range(10)]
    assert pool.map(sqr, range(100), chunksize=7) == [x * x for x in range(100)]
    assert pool.map(sqr, iter(range(20))) == [x * x for x in range(20)]
    pairs = list(zip(range(30), range(30, 0, -1), strict=True))
    assert pool.starmap(mul, pairs) == list(itertools.starmap(mul, pairs))
    assert pool.starmap(mul, pairs, chunksize=4) == list(itertools.starmap(mul, pairs))
    assert pool.starmap_async(mul, pairs).get(30) == list(itertools.starmap(mul, pairs))
    assert pool.map_async(sqr, range(10), 3).get(30) == [x * x for x in range(10)]


def test_imaps(pool: Any) -> None:
    assert list(pool.imap(sqr, range(50))) == [x * x for x in range(50)]
    assert list(pool.imap(sqr, range(50), chunksize=6)) == [x * x for x in range(50)]
    assert sorted(pool.imap_unordered(sqr, range(50))) == [x * x for x in range(50)]
    assert sorted(pool.imap_unordered(sqr, range(50), 8)) == [x * x for x in range(50)]
    it = pool.imap(nap, [1], 1)
    with pytest.raises(multiprocessing.TimeoutError):
        it.next(timeout=0.01)
    assert it.next(timeout=30) == 1
    with pytest.raises(StopIteration):
        it.next()


def test_imap_reads_its_input_lazily(pool: Any) -> None:
    taken: list[int] = []
    ready = threading.Event()

    def source() -> Iterator[int]:
        for x in range(5):
            taken.append(x)
            yield x
        ready.set()

    results = pool.imap(sqr, source())
    assert ready.wait(30)  # read by the pool's own thread, not by next()
    assert list(results) == [0, 1, 4, 9, 16]
    assert taken == [0, 1, 2, 3, 4]


def test_empty_inputs(pool: Any) -> None:
    assert pool.map(sqr, []) == []
    assert pool.starmap(mul, []) == []
    assert list(pool.imap(sqr, [])) == []
    assert list(pool.imap_unordered(sqr, [])) == []
    assert pool.map_async(sqr, [], chunksize=1).get(30) == []


def test_exceptions_carry_the_workers_traceback(pool: Any) -> None:
    with pytest.raises(ValueError, match="broken") as raised:
        pool.apply(fail, ("broken",))
    cause = raised.value.__cause__
    assert type(cause) is multiprocessing.pool.RemoteTraceback
    assert (
        "raise ValueError(message)  # the line the remote traceback shows" in cause.tb
    )
    with pytest.raises(ValueError, match="in map"):
        pool.map(fail, ["in map", "in map"])
    it = pool.imap(sqr, [1, "x", 3])
    assert next(it) == 1
    with pytest.raises(TypeError):
        next(it)
    assert next(it) == 9  # the iteration goes on after a task's exception


def test_the_inputs_exception(pool: Any) -> None:
    with pytest.raises(KeyError, match="the input failed"):
        pool.map(sqr, raising_after(3))
    it = pool.imap(sqr, raising_after(3))
    assert [next(it) for _ in range(3)] == [0, 1, 4]
    with pytest.raises(KeyError) as raised:
        next(it)
    assert raised.value.__cause__ is None  # the caller's own, not remote
    with pytest.raises(StopIteration):
        next(it)


def test_what_cannot_be_pickled(pool: Any) -> None:
    with pytest.raises(RuntimeError, match="cannot pickle"):
        pool.map(sqr, [Unpicklable()] * 3)
    with pytest.raises((AttributeError, pickle.PicklingError)):
        pool.apply(lambda: 1)
    with pytest.raises(multiprocessing.pool.MaybeEncodingError) as raised:
        pool.apply(unpicklable_result)
    assert "lambda" in raised.value.value
    assert pool.apply(sqr, (3,)) == 9  # no worker was lost


def test_workers_write_into_shared_arrays(pool: Any) -> None:
    a = ms.zeros((4, 1000))
    sums = pool.starmap(fill, [(a[i], i + 1.0) for i in range(4)])
    assert sums == [1000.0 * (i + 1) for i in range(4)]
    assert (a == np.arange(1, 5)[:, None]).all()
    plain = np.arange(300_000.0)  # its data out of band, not shared
    assert pool.apply(np.sum, (plain,)) == plain.sum()


def test_pool_refuses_to_be_pickled(pool: Any) -> None:
    with pytest.raises(NotImplementedError, match="cannot be passed"):
        pickle.dumps(pool)


@pytest.mark.parametrize("kind", KINDS)
def test_initializer_and_maxtasksperchild(kind: str) -> None:
    with make_pool(kind, "spawn", 2, set_global, (7,), 3) as pool:
        assert set(pool.map(get_global, range(10), 1)) == {7}
        pids = set(pool.map(pid_of, range(30), 1))
        assert len(pids) >= 4  # each worker served 3 tasks at most
        pool.close()
        pool.join()


@pytest.mark.parametrize("kind", KINDS)
def test_arguments_checked(kind: str) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        make_pool(kind, "spawn", 0)
    for wrong in (0, -1, 0.5, "12"):
        with pytest.raises(ValueError, match="maxtasksperchild"):
            make_pool(kind, "spawn", 1, maxtasksperchild=wrong)
    with pytest.raises(TypeError, match="callable"):
        make_pool(kind, "spawn", 1, initializer=3)


@pytest.mark.parametrize("kind", KINDS)
def test_close_join_terminate(kind: str) -> None:
    pool = make_pool(kind, "spawn", 2)
    with pytest.raises(ValueError, match="still running"):
        pool.join()
    result = pool.map_async(sqr, range(8), 1)
    pool.close()
    with pytest.raises(ValueError, match="not running"):
        pool.apply_async(sqr, (1,))
    pool.join()  # after every task
    assert result.get(0) == [x * x for x in range(8)]
    with pytest.raises(ValueError, match="not running"), pool:
        pytest.fail("a closed pool was entered")
    pool.terminate()


@pytest.mark.parametrize("kind", KINDS)
def test_the_context_manager_terminates(kind: str) -> None:
    with make_pool(kind, "spawn", 2) as pool:
        assert pool.apply(sqr, (2,)) == 4
        workers = list(pool._pool)
    pool.join()
    assert not any(worker.is_alive() for worker in workers)
    with pytest.raises(ValueError, match="not running"):
        pool.map(sqr, [1])
