"""Pool workers that cannot receive a task's shared arrays: out of
descriptors, they first free those of the segments memshare keeps for reuse
and try again; if that is not enough, or a handle is damaged, the error
becomes that task's own (multiprocessing.Pool would lose the task and wait
for ever, ProcessPoolExecutor would break), and the pool goes on."""

from __future__ import annotations

import concurrent.futures
import copy
import errno
import multiprocessing
import os
import pickle
import resource
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from support import START_METHODS

import memshare as ms
from memshare.arrays import pickling
from memshare.arrays._unreceived import UnreceivedArray

TIMEOUT = 60
BIG = 1 << 20  # an array of its own segment, whose receiver keeps a descriptor
HEADROOM = 6  # descriptors a worker has beyond those it starts with
kept: list[Any] = []


def leave_little_room() -> None:
    """A Pool initializer: room for HEADROOM more descriptors, no more.

    The limit caps descriptor numbers, not their count, and a forked worker
    inherits its parent's with gaps between them: the free numbers below the
    limit are what counts."""
    limit = free = 0
    while free < HEADROOM:
        free += not is_open(limit)
        limit += 1
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


def is_open(descriptor: int) -> bool:
    try:
        os.fstat(descriptor)
    except OSError:
        return False
    return True


def first(array: Any) -> float:
    return float(array[0])


def keep(array: Any) -> float:
    kept.append(array)
    return float(array[0])


@pytest.fixture(params=START_METHODS)
def context(request: pytest.FixtureRequest) -> multiprocessing.context.BaseContext:
    return multiprocessing.get_context(request.param)


@pytest.fixture
def pool(context: multiprocessing.context.BaseContext) -> Iterator[Any]:
    with context.Pool(1, initializer=leave_little_room) as workers:
        yield workers


def shared(count: int) -> list[np.ndarray[Any, Any]]:
    return [ms.full(BIG // 8, float(i)) for i in range(count)]


def test_segments_kept_for_reuse_give_their_descriptors_back(pool: Any) -> None:
    # Each array dropped by the worker stays mapped (parked) for a second,
    # with its descriptor: more of them than the worker has room for.
    arrays = shared(3 * HEADROOM)
    results = [pool.apply_async(first, (a,)) for a in arrays]
    assert [r.get(TIMEOUT) for r in results] == [float(i) for i in range(len(arrays))]


def test_a_task_whose_array_cannot_be_received_fails_with_the_reason(
    pool: Any,
) -> None:
    arrays = shared(3 * HEADROOM)  # the worker keeps each: it runs out
    results = [pool.apply_async(keep, (a,)) for a in arrays]
    outcomes = []
    for result in results:
        try:
            outcomes.append(result.get(TIMEOUT))
        except OSError as error:
            outcomes.append(error)
    received = [o for o in outcomes if isinstance(o, float)]
    refused = [o for o in outcomes if isinstance(o, OSError)]
    assert received == [float(i) for i in range(len(received))]
    assert len(received) >= 1
    assert refused
    assert len(received) + len(refused) == len(arrays)
    assert refused[0].errno == errno.EMFILE
    assert "RLIMIT_NOFILE" in str(refused[0])
    # The worker lives on, and takes tasks as before.
    assert pool.apply(sum, ([1, 2],)) == 3


@pytest.mark.parametrize("method", START_METHODS)
def test_an_executor_task_whose_array_cannot_be_received_fails_alone(
    method: str,
) -> None:
    context = multiprocessing.get_context(method)
    with concurrent.futures.ProcessPoolExecutor(
        1, mp_context=context, initializer=leave_little_room
    ) as executor:
        executor.submit(sum, [1]).result(TIMEOUT)  # forked before the arrays exist
        futures = [executor.submit(keep, a) for a in shared(3 * HEADROOM)]
        errors = [f.exception(TIMEOUT) for f in futures]
        assert errors[0] is None
        assert any(isinstance(e, OSError) and "RLIMIT_NOFILE" in str(e) for e in errors)
        assert executor.submit(sum, [1, 2]).result(TIMEOUT) == 3  # not broken


class Forged:
    """Pickles as a shared array's handle with a damaged shape."""

    def __init__(self, array: np.ndarray[Any, Any]) -> None:
        _, arguments = pickling.reduce_ndarray(array)
        self.arguments = (*arguments[:4], (-8,), *arguments[5:])

    def __reduce__(self) -> tuple[Any, ...]:
        return pickling.rebuild_ndarray, self.arguments


@pytest.mark.parametrize("method", START_METHODS)
def test_a_damaged_handle_fails_its_task_in_either_pool(method: str) -> None:
    context = multiprocessing.get_context(method)
    array = ms.full(16, 1.0)
    with context.Pool(1) as workers:
        with pytest.raises(ValueError, match="handle is damaged"):
            workers.apply_async(first, (Forged(array),)).get(TIMEOUT)
        assert workers.map(first, [array, array]) == [1.0, 1.0]
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as executor:
        with pytest.raises(ValueError, match="handle is damaged"):
            executor.submit(first, Forged(array)).result(TIMEOUT)
        assert executor.submit(first, array).result(TIMEOUT) == 1.0


def test_a_receive_elsewhere_raises_at_once() -> None:
    # Only a pool's get() of a task defers the error: a task that receives
    # an array itself hears of it at once.
    forged = pickle.dumps(Forged(ms.full(16, 1.0)))
    with concurrent.futures.ProcessPoolExecutor(1) as executor:
        error = executor.submit(receive_or_report, forged).result(TIMEOUT)
    assert error.startswith("ValueError")


def receive_or_report(data: bytes) -> str:
    try:
        pickle.loads(data)
    except ValueError as error:
        return f"ValueError: {error}"
    return "received"


def test_the_stand_in_raises_at_any_use() -> None:
    reason = OSError(24, "Too many open files")
    stand_in = UnreceivedArray(reason)
    uses = [
        lambda: stand_in.shape,
        lambda: stand_in[0],
        lambda: stand_in + 1,
        lambda: 1 + stand_in,
        lambda: len(stand_in),
        lambda: np.asarray(stand_in),
        lambda: np.add(stand_in, 1),
        lambda: isinstance(stand_in, np.ndarray),
        lambda: bool(stand_in),
        lambda: list(stand_in),
        lambda: stand_in == 0,
        lambda: pickle.dumps(stand_in),
        lambda: copy.copy(stand_in),
        lambda: f"{stand_in}",
    ]
    for use in uses:
        with pytest.raises(OSError, match="Too many open files"):
            use()
    assert "Too many open files" in repr(stand_in)
