"""joblib's Parallel over a large array (where joblib is installed).

A call of 8 tasks on 2 loky workers, each summing its band of the array, so
that the call reads the whole array once.  Four ways: a plain array through
joblib as it stands (its ``max_nbytes`` memmapping dumps the array to its
temporary folder in every call); a ``numpy.memmap`` joblib dumped once
before (its fastest path: only the file name travels); a memshare array
with memshare's reducers (``memshare.integrations.joblib``); and a plain
array with them and ``share_large=True`` (copied into shared memory once
per call, as joblib dumps it once per call).

loky keeps its workers only from one call to the next with the same
reducers, so each contender runs in a block of calls after one untimed call
(which starts its workers), and the blocks alternate.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np

import memshare as ms

from . import Comparison, against, interleaved, median_times

__all__ = ["run"]

TASKS = 8


def band_sum(a: np.ndarray[Any, Any], i: int) -> float:
    band = len(a) // TASKS
    return float(a[i * band : (i + 1) * band].sum())


def _call(a: np.ndarray[Any, Any], config: Callable[[], Any]) -> Callable[[], object]:
    from joblib import Parallel, delayed

    def call() -> object:
        with config():
            total = sum(Parallel()(delayed(band_sum)(a, i) for i in range(TASKS)))
        if total != a.size:
            raise AssertionError(f"the bands summed to {total}, not {a.size}")
        return total

    return call


def run(quick: bool) -> list[Comparison]:
    if importlib.util.find_spec("joblib") is None:
        print("  joblib: skipped (joblib not installed)")
        return []
    import joblib
    from joblib.externals.loky import get_reusable_executor

    from ..integrations import joblib as ms_joblib

    size, blocks, calls = (256 << 20, 2, 3) if quick else (1 << 30, 3, 3)
    count = size // 8
    plain = np.ones(count)
    shared = ms.ones(count)
    stock = lambda: joblib.parallel_config("loky", n_jobs=2)
    ours = lambda: ms_joblib.parallel_config("loky", n_jobs=2, share_large=True)
    with tempfile.TemporaryDirectory(
        dir="/dev/shm" if os.path.isdir("/dev/shm") else None
    ) as folder:
        path = os.path.join(folder, "array.pkl")
        joblib.dump(plain, path)
        memmap = joblib.load(path, mmap_mode="r")
        contenders = {
            "joblib memmapping a plain array": _call(plain, stock),
            "joblib over a numpy.memmap it dumped": _call(memmap, stock),
            "memshare array": _call(shared, ours),
            "plain array, shared by memshare": _call(plain, ours),
        }
        times: dict[str, list[float]] = {name: [] for name in contenders}
        try:
            for _ in range(blocks):
                for name, call in contenders.items():
                    call()  # starts the workers with these reducers
                    times[name] += interleaved({name: call}, calls)[name]
                contenders = dict(reversed(contenders.items()))
        finally:
            get_reusable_executor(reuse=True).shutdown(wait=True, kill_workers=True)
            del memmap
    medians = median_times(times)
    case = f"joblib.Parallel over a {size >> 20} MiB array, {TASKS} tasks on 2 workers"
    rows = against(
        case,
        medians,
        "memshare array",
        ["joblib memmapping a plain array", "joblib over a numpy.memmap it dumped"],
    )
    return rows + against(
        f"{case}, a plain array",
        medians,
        "plain array, shared by memshare",
        ["joblib memmapping a plain array"],
    )
