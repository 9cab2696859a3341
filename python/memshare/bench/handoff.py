"""Hand an array to a Pool worker and get a float back.

Three ways, the worker reading the first and last element, so the time is
the hand-off itself: pickling a plain NumPy array (what the obvious code
does); the standard library's ``SharedMemory`` passed by name, the worker
attaching and detaching (the hand-written pattern); and a memshare array,
the same obvious code as pickling.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.pool import Pool
from multiprocessing.reduction import ForkingPickler
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import numpy as np

import memshare as ms

from . import Comparison, against, median_times

Work = tuple[Callable[..., float], tuple[Any, ...]]


def ends(array: np.ndarray[Any, Any]) -> float:
    return float(array.flat[0] + array.flat[-1])


def ends_by_name(name: str, shape: tuple[int, ...], dtype: str) -> float:
    # What the hand-written pattern sends: the name, the shape, the dtype.
    return on_block(ends, name, shape, dtype)


def on_block(
    work: Callable[[np.ndarray[Any, Any]], float],
    name: str,
    shape: tuple[int, ...],
    dtype: str,
) -> float:
    """`work` on the array in the standard library's block `name`, attached
    for it and detached after: the hand-written pattern."""
    # Attaching registers the block with the resource tracker as if this
    # worker owned it (CPython gh-82300); harmless here only because pool
    # workers share the parent's tracker, which keeps a set of names.
    block = SharedMemory(name=name)
    array: np.ndarray[Any, Any] = np.ndarray(shape, dtype, buffer=block.buf)
    try:
        return work(array)
    finally:
        del array
        block.close()


def pickled_bytes(arguments: tuple[Any, ...]) -> int:
    data = ForkingPickler.dumps(arguments)
    ForkingPickler.loads(data)  # takes back what the pickling offered
    return len(data)


def hand_off(pool: Pool, work: Work) -> float:
    function, arguments = work
    start = time.perf_counter()
    result = pool.apply(function, arguments)
    elapsed = time.perf_counter() - start
    # The worker frees the arguments after it answers (a pickled copy takes
    # a while to unmap): let it finish, so that no case pays for the last.
    pool.apply(int)
    if result != 2.0:
        raise AssertionError(f"{function.__name__} returned {result}, not 2.0")
    return elapsed


def run(quick: bool, method: str = "spawn") -> list[Comparison]:
    size, repeat, rounds = (256 << 20, 2, 60) if quick else (1 << 30, 3, 300)
    count = size // 8
    plain = np.ones(count)
    block = SharedMemory(create=True, size=size)
    by_name: np.ndarray[Any, Any] = np.ndarray(count, np.float64, buffer=block.buf)
    by_name[:] = 1.0
    shared = ms.ones(count)
    works: dict[str, Work] = {
        "pickling": (ends, (plain,)),
        "stdlib SharedMemory by name": (ends_by_name, (block.name, (count,), "<f8")),
        "memshare": (ends, (shared,)),
    }
    try:
        times = time_hand_offs(works, method, repeat, rounds)
    finally:
        del by_name
        block.close()
        block.unlink()
    medians = median_times(times)
    case = f"hand a {size >> 20} MiB array to a worker ({method})"
    sizes = {name: float(pickled_bytes(work[1])) for name, work in works.items()}
    return against(case, medians, "memshare") + against(
        "bytes pickled for it", sizes, "memshare", unit="B"
    )


def time_hand_offs(
    works: dict[str, Work], method: str, repeat: int, rounds: int
) -> dict[str, list[float]]:
    context = multiprocessing.get_context(method)
    # Pickling churns the whole array through both processes, which would
    # slow whatever runs next: it gets a pool of its own.
    with context.Pool(1) as pool:
        hand_off(pool, works["pickling"])  # warm up
        times = {"pickling": [hand_off(pool, works["pickling"]) for _ in range(repeat)]}
    quick = [name for name in works if name != "pickling"]
    times.update({name: [] for name in quick})
    with context.Pool(1) as pool:
        for round_ in range(-2, rounds):  # two rounds to warm up, not counted
            quick.reverse()
            for name in quick:
                elapsed = hand_off(pool, works[name])
                if round_ >= 0:
                    times[name].append(elapsed)
    return times
