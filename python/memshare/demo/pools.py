"""The second part of ``python -m memshare demo``: ms.Pool beside
multiprocessing.Pool, with the same workers and start method.  An empty
task's round trip, many tiny tasks through ``map(chunksize=1)``, and the
standardization of the first part done by ms.Pool on the shared array:
the same code, the pool's own cost gone."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from multiprocessing.context import BaseContext
from typing import Any, TextIO

from ..pool import Pool

TINY_TASKS = 10_000
ROUND_TRIPS = 2_000


def nothing(x: object = None) -> object:
    return x


def _round_trip(pool: Any) -> float:
    """The median of many empty round trips, after the first hundred."""
    times = []
    for _ in range(ROUND_TRIPS):
        start = time.perf_counter()
        pool.apply(nothing)
        times.append(time.perf_counter() - start)
    return statistics.median(times[100:])


def _seconds(call: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3)):
        if seconds >= scale:
            return f"{seconds / scale:.2f} {unit}"
    return f"{seconds * 1e6:.1f} us"


def _cells(theirs: float, ours: float) -> str:
    faster = theirs / ours
    said = f"{faster:.0f}x faster" if faster >= 1.5 else f"{faster:.2f}x the speed"
    return f"{_time(theirs):>15} {_time(ours):>13}   {said}"


def run(
    out: TextIO,
    context: BaseContext,
    workers: int,
    work: Callable[[Any], object],
    tasks: list[Any],
) -> None:
    """Times both pools, each case in turn, and prints them side by side;
    the last case maps `work` over `tasks`."""
    print(
        f"\nThe pools themselves: memshare.Pool beside multiprocessing.Pool, "
        f"{workers} workers each.\n\n"
        f"{'':<40} {'multiprocessing':>15} {'memshare':>13}",
        file=out,
        flush=True,
    )
    pools: dict[str, Any] = {
        "multiprocessing": context.Pool(workers),
        "memshare": Pool(workers, context=context),
    }
    try:
        for pool in pools.values():  # started: every worker ran a task
            pool.map(time.sleep, [0.1] * workers, 1)
        rows: dict[str, Callable[[Any], float]] = {
            "an empty task's round trip": _round_trip,
            f"{TINY_TASKS:,} tiny tasks, map(chunksize=1)": lambda pool: _seconds(
                lambda: pool.map(nothing, range(TINY_TASKS), 1)
            ),
            "the standardization, on the shared array": lambda pool: _seconds(
                lambda: pool.map(work, tasks, 1)
            ),
        }
        for label, measure in rows.items():
            theirs, ours = (measure(pool) for pool in pools.values())
            print(f"{label:<40} {_cells(theirs, ours)}", file=out, flush=True)
    finally:
        for pool in pools.values():
            pool.terminate()
            pool.join()
