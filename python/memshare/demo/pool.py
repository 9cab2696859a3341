"""``python -m memshare demo``: a Pool standardizes every row of a large
array, once with the array pickled to the workers and back, as plain NumPy
code does, and once with the same code on an array in shared memory.  It
prints the time, the bytes that went through the workers' pipes, and the
memory held by all processes.  Then ms.Pool beside multiprocessing.Pool
(see :mod:`.pools`)."""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.pool import Pool
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt

from .._core import format_bytes
from ..arrays.constructors import empty
from ..explore._process_tree import PeakMemory, io_counters, pss, tree
from . import pools

Rows = npt.NDArray[np.float32]
COLUMNS = 16384


def standardize(rows: Rows) -> Rows:
    """The work of one task: each row to mean 0 and deviation 1, in place."""
    rows -= rows.mean(axis=1, keepdims=True)
    rows /= rows.std(axis=1, keepdims=True)
    return rows


@dataclass
class Outcome:
    seconds: float
    sent: int  # bytes written to the workers' pipes
    received: int  # bytes read from them
    memory: int  # peak PSS of all processes over what they held before, >= 0
    digest: str  # of the standardized array, to compare the two ways
    views: bool  # whether the results came back as views of the array


def _bands(data: Rows, count: int) -> list[Rows]:
    edges = np.linspace(0, len(data), count + 1).astype(int)
    return [data[low:high] for low, high in itertools.pairwise(edges)]


def _run(
    pool: Pool, data: Rows, bands: int, after: Callable[[list[Rows]], Any]
) -> Outcome:
    """Standardize `data` with `pool`, then pass the results to `after`."""
    baseline = sum(map(pss, tree(os.getpid())))
    np.random.default_rng(0).standard_normal(out=data, dtype=np.float32)
    before = io_counters()
    with PeakMemory() as memory:
        start = time.perf_counter()
        results = pool.map(standardize, _bands(data, bands), chunksize=1)
        after(results)
        seconds = time.perf_counter() - start
    io = io_counters()
    views = all(np.shares_memory(result, data) for result in results)
    return Outcome(
        seconds,
        sent=io["wchar"] - before["wchar"],
        received=io["rchar"] - before["rchar"] - memory.read_bytes,
        memory=max(memory.peak - baseline, 0),
        digest=hashlib.blake2b(data.data).hexdigest(),
        views=views,
    )


def by_pickling(pool: Pool, shape: tuple[int, int], bands: int) -> Outcome:
    data: Rows = np.empty(shape, np.float32)

    def put_back(results: list[Rows]) -> None:
        np.concatenate(results, out=data)  # the workers changed copies

    return _run(pool, data, bands, put_back)


def by_memshare(pool: Pool, shape: tuple[int, int], bands: int) -> Outcome:
    data: Rows = empty(shape, np.float32)
    return _run(pool, data, bands, lambda results: None)  # already in place


def _report(outcomes: dict[str, Outcome], out: TextIO) -> None:
    print(
        f"{'':<10} {'time':>8} {'sent to workers':>16} {'back from workers':>18} "
        f"{'peak memory*':>13}",
        file=out,
    )
    for name, o in outcomes.items():
        print(
            f"{name:<10} {o.seconds:>7.2f}s {format_bytes(o.sent):>16} "
            f"{format_bytes(o.received):>18} {format_bytes(o.memory):>13}",
            file=out,
        )
    old, new = outcomes["pickling"], outcomes["memshare"]
    print(
        f"memshare / pickling: {new.seconds / old.seconds:.2g}x the time, "
        f"{new.sent / max(old.sent, 1):.2g}x the bytes sent, "
        f"{new.memory / max(old.memory, 1):.2g}x the memory",
        file=out,
    )
    print(
        f"The same result both ways: {'yes' if old.digest == new.digest else 'NO'}.",
        file=out,
    )
    if new.views:
        print("memshare's results came back as views of the shared array.", file=out)
    print(
        "* the highest total PSS of this process and its workers during the\n"
        "  work, over what they held before it: shared pages count once.",
        file=out,
    )


def run(out: TextIO, size_mib: int, workers: int, start_method: str | None) -> int:
    context = multiprocessing.get_context(start_method)
    shape = (max(1, (size_mib << 20) // (COLUMNS * 4)), COLUMNS)
    bands = 4 * workers
    print(
        f"memshare demo: a Pool of {workers} workers (start method "
        f"{context.get_start_method()}) standardizes each row of a float32\n"
        f"array of {format_bytes(shape[0] * COLUMNS * 4)} ({shape[0]} x {COLUMNS}) "
        f"in {bands} tasks, first pickled as plain NumPy, then shared.",
        file=out,
        flush=True,
    )
    with context.Pool(workers) as pool:
        pool.map(standardize, [np.arange(2, dtype=np.float32)[None]])  # started
        outcomes = {
            "pickling": by_pickling(pool, shape, bands),
            "memshare": by_memshare(pool, shape, bands),
        }
    print(file=out)
    _report(outcomes, out)
    data: Rows = empty(shape, np.float32)
    np.random.default_rng(0).standard_normal(out=data, dtype=np.float32)
    pools.run(out, context, workers, standardize, _bands(data, bands))
    same = outcomes["pickling"].digest == outcomes["memshare"].digest
    return 0 if same else 1
