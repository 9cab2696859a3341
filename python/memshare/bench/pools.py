"""Process pools: ms.Pool and ms.ProcessPoolExecutor against
multiprocessing.Pool and concurrent.futures.ProcessPoolExecutor, and, where
installed, joblib (loky), Ray and Dask; 2 workers each, started and warmed
up before they are timed.

- an empty task's round trip (``apply``, ``submit().result()``, ...);
- 20,000 tiny tasks through ``map`` and ``imap_unordered`` with chunksize
  1 (one task per item: what a pool's dispatch costs), and ``map`` with its
  default chunksize (chunks hide the dispatch);
- a map over 64 bands of a 1 GiB shared array, each task summing its band:
  every pool gets the bands as handles (the engines through memshare's
  integrations), so the case times the dispatch around real work.

The standard library's pools and memshare's run in one block, their turns
alternating; each engine runs in a block of its own beside memshare's, so
that an engine's idle processes do not slow the others.  A turn starts
once the machine is quiet (an engine's scheduler may still be releasing
the last turn's 20,000 tasks).  Every contender is timed the same way: a
turn's first call is left out (processes and, on a VM, CPUs idle since the
last turn wake up in it), then a call under a second is made again and
again for a quarter of a second and the median taken, the first fifth left
out; a longer call counts once, its wake-up a small part of it.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from typing import Any

import numpy as np

import memshare as ms

from . import Comparison, against, alternating, median_times, seconds
from .with_dask import cluster
from .with_ray import started

__all__ = ["run"]

WORKERS = 2
BANDS = 64
_STEADY = 0.25  # seconds of calls a turn
_LONG = 1.0  # seconds: a call this long counts once a turn
_QUIET = 0.2  # the share of the CPUs busy below which the machine is quiet
_SETTLE = 10.0  # seconds a turn waits at most for the machine to be quiet

# A contender's way of running each case it can run.
Ways = dict[str, Callable[[Any], object]]

STARTED = "every worker started"  # not timed: done before the cases
ROUND_TRIP = "an empty task's round trip"
EACH = "{n:,} tiny tasks, map, chunksize 1"
UNORDERED = "{n:,} tiny tasks, imap_unordered, chunksize 1"
CHUNKED = "{n:,} tiny tasks, map, default chunksize"
OVER_BANDS = "map over {bands} bands of a {mib} MiB shared array"


def noop(x: object = None) -> object:
    return x


def band_sum(band: np.ndarray[Any, Any]) -> float:
    return float(band.sum())


def nap(seconds: float) -> None:
    time.sleep(seconds)


NAPS = [0.2] * (2 * WORKERS)  # tasks that keep every worker busy a moment


def _pool_ways(pool: Any) -> Ways:
    return {
        STARTED: lambda _: pool.map(nap, NAPS, 1),
        ROUND_TRIP: lambda _: pool.apply(noop),
        EACH: lambda items: pool.map(noop, items, 1),
        UNORDERED: lambda items: list(pool.imap_unordered(noop, items, 1)),
        CHUNKED: lambda items: pool.map(noop, items),
        OVER_BANDS: lambda bands: pool.map(band_sum, bands, 1),
    }


def _executor_ways(executor: Any) -> Ways:
    return {
        STARTED: lambda _: list(executor.map(nap, NAPS)),
        ROUND_TRIP: lambda _: executor.submit(noop).result(),
        EACH: lambda items: list(executor.map(noop, items)),
        OVER_BANDS: lambda bands: list(executor.map(band_sum, bands)),
    }


def _standard(stack: ExitStack) -> dict[str, Ways]:
    """The pools of the standard library and memshare's, started."""
    spawn = multiprocessing.get_context("spawn")
    pools: dict[str, Any] = {
        "memshare Pool": ms.Pool(WORKERS, context=spawn),
        "multiprocessing.Pool": spawn.Pool(WORKERS),
    }
    for pool in pools.values():
        stack.callback(pool.join)
        stack.callback(pool.terminate)
    executors = {
        "memshare ProcessPoolExecutor": ms.ProcessPoolExecutor(WORKERS, spawn),
        "concurrent.futures ProcessPoolExecutor": (
            concurrent.futures.ProcessPoolExecutor(WORKERS, spawn)
        ),
    }
    for executor in executors.values():
        stack.callback(executor.shutdown)
    return {name: _pool_ways(pool) for name, pool in pools.items()} | {
        name: _executor_ways(executor) for name, executor in executors.items()
    }


def _joblib(stack: ExitStack) -> dict[str, Ways]:
    from joblib import Parallel, delayed

    from ..integrations import joblib as ms_joblib

    # Entered, a Parallel keeps its workers from call to call.
    each = stack.enter_context(Parallel(n_jobs=WORKERS, batch_size=1))
    auto = stack.enter_context(Parallel(n_jobs=WORKERS))
    unordered = stack.enter_context(
        Parallel(n_jobs=WORKERS, batch_size=1, return_as="generator_unordered")
    )
    stack.enter_context(ms_joblib.parallel_config("loky"))  # bands by handle
    return {
        "joblib (loky)": {
            STARTED: lambda _: each(delayed(nap)(seconds) for seconds in NAPS),
            ROUND_TRIP: lambda _: each([delayed(noop)()]),
            EACH: lambda items: each(delayed(noop)(i) for i in items),
            UNORDERED: lambda items: list(unordered(delayed(noop)(i) for i in items)),
            CHUNKED: lambda items: auto(delayed(noop)(i) for i in items),
            OVER_BANDS: lambda bands: each(delayed(band_sum)(b) for b in bands),
        }
    }


def _ray(stack: ExitStack) -> dict[str, Ways]:
    import ray

    stack.enter_context(started())
    remote_noop: Any = ray.remote(noop)  # typed for no arguments
    remote_sum, remote_nap = ray.remote(band_sum), ray.remote(nap)
    return {
        "Ray": {
            STARTED: lambda _: ray.get([remote_nap.remote(s) for s in NAPS]),
            ROUND_TRIP: lambda _: ray.get(remote_noop.remote()),
            EACH: lambda items: ray.get([remote_noop.remote(i) for i in items]),
            OVER_BANDS: lambda bands: ray.get([remote_sum.remote(b) for b in bands]),
        }
    }


def _dask(stack: ExitStack) -> dict[str, Ways]:
    from distributed import as_completed

    folder = stack.enter_context(tempfile.TemporaryDirectory())
    client = stack.enter_context(cluster(folder, shared=True))  # bands by handle

    def each(items: Any, func: Callable[[Any], object] = noop) -> object:
        return client.gather(client.map(func, items, pure=False))

    def over(bands: list[Any]) -> object:
        scattered = client.scatter(bands, hash=False)  # kept until they are done
        return each(scattered, band_sum)

    return {
        "Dask": {
            STARTED: lambda _: each(NAPS, nap),
            ROUND_TRIP: lambda _: client.submit(noop, pure=False).result(),
            EACH: each,
            UNORDERED: lambda items: [
                result
                for _, result in as_completed(
                    client.map(noop, items, pure=False), with_results=True
                )
            ],
            OVER_BANDS: over,  # scattered, as Dask sends data (by handle, here)
        }
    }


ENGINES: dict[str, Callable[[ExitStack], dict[str, Ways]]] = {
    "joblib": _joblib,
    "ray": _ray,
    "distributed": _dask,
}


def _busy_and_total() -> tuple[int, int]:
    """The CPUs' busy and total time since boot (/proc/stat, in ticks)."""
    with open("/proc/stat") as stat:
        ticks = [int(field) for field in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and waiting for I/O
    return sum(ticks) - idle, sum(ticks)


def _wait_until_quiet() -> None:
    """Returns once the CPUs were mostly idle for a tenth of a second (or
    after `_SETTLE` seconds, on a machine that never is)."""
    end = time.monotonic() + _SETTLE
    busy, total = _busy_and_total()
    while time.monotonic() < end:
        time.sleep(0.1)
        now_busy, now_total = _busy_and_total()
        if now_busy - busy <= _QUIET * max(now_total - total, 1):
            return
        busy, total = now_busy, now_total


def _turn_seconds(way: Callable[[Any], object], argument: Any) -> float:
    """A turn's time for a call, on a quiet machine: the wake-up call left
    out, then the median of the calls made over a quarter of a second (the
    first fifth left out), or a single call if calls take a second or more."""
    _wait_until_quiet()
    call = partial(way, argument)
    if (first := seconds(call)) >= _LONG:
        return first
    times: list[float] = []
    end = time.perf_counter() + _STEADY
    while not times or time.perf_counter() < end:
        times.append(seconds(call))
    return statistics.median(times[len(times) // 5 :])


def _block(
    contenders: dict[str, Ways],
    ours: dict[str, str],
    inputs: dict[str, Any],
    labels: dict[str, str],
    repeat: int,
) -> list[Comparison]:
    """Each case's contenders timed in alternating turns, memshare's
    (`ours`: by the pool it is compared with) against each."""
    for ways in contenders.values():
        ways[STARTED](None)
    time.sleep(1.0)  # what started them (imports, spawning) is over
    rows: list[Comparison] = []
    for case, argument in inputs.items():
        ways = {name: ways[case] for name, ways in contenders.items() if case in ways}
        measures = {
            name: partial(_turn_seconds, way, argument) for name, way in ways.items()
        }
        medians = median_times(alternating(measures, repeat))
        for name, mine in ours.items():
            if name in medians and mine in medians:
                rows += against(labels[case], medians, mine, [name])
    return rows


def run(quick: bool) -> list[Comparison]:
    tasks, size, repeat = (2_000, 256 << 20, 3) if quick else (20_000, 1 << 30, 5)
    shared = ms.ones(size // 8)
    bands = np.array_split(shared, BANDS)
    inputs: dict[str, Any] = {
        ROUND_TRIP: None,
        EACH: range(tasks),
        UNORDERED: range(tasks),
        CHUNKED: range(tasks),
        OVER_BANDS: bands,
    }
    labels = {
        case: case.format(n=tasks, bands=BANDS, mib=size >> 20) for case in inputs
    }
    rows: list[Comparison] = []
    with ExitStack() as stack:
        standard = _standard(stack)
        ours = {
            "multiprocessing.Pool": "memshare Pool",
            "concurrent.futures ProcessPoolExecutor": "memshare ProcessPoolExecutor",
        }
        rows += _block(standard, ours, inputs, labels, repeat)
    for module, start in ENGINES.items():
        if importlib.util.find_spec(module) is None:
            print(f"  pool: {module} skipped (not installed)")
            continue
        with ExitStack() as stack:
            engine = start(stack)
            spawn = multiprocessing.get_context("spawn")
            pool = ms.Pool(WORKERS, context=spawn)
            stack.callback(pool.join)
            stack.callback(pool.terminate)
            contenders = {"memshare Pool": _pool_ways(pool), **engine}
            mine = dict.fromkeys(engine, "memshare Pool")
            rows += _block(contenders, mine, inputs, labels, repeat)
    return rows
