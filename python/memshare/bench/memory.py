"""How much memory a parent and its workers hold when every worker reads a
whole array: pickled, each worker has a copy; shared, one copy serves all.

Measured as the growth of the process tree's PSS (each page divided among
the processes that map it) from before the array was sent, over the
array's size.  Pickled, that is the parent's copy, each worker's, and the
last pickled payload, which multiprocessing's feeder thread keeps until the
next; the pickled case uses at most 512 MiB, so that they fit in memory (the
ratio does not depend on the size).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

import memshare as ms

from . import Comparison

TIMEOUT = 600


def hold(
    array: np.ndarray[Any, Any], touched: ms.Semaphore, release: ms.Event
) -> float:
    total = float(array.sum())  # every page in this worker's memory
    touched.release()
    release.wait(TIMEOUT)
    return total


def growth(
    executor: ProcessPoolExecutor, workers: int, make: Callable[[], Any]
) -> float:
    """The tree's PSS while every worker holds the array `make()` returns,
    less before it was made, over the array's bytes."""
    # Workers keep received memory mapped for a second after a task, and
    # free a pickled copy just after answering: let that pass.
    time.sleep(1.5)
    ms.release_unused()  # memory kept for reuse would hide the array's
    before = ms.memory_report().pss
    array = make()
    touched, release = ms.Semaphore(0), ms.Event()
    tasks = []
    for _ in range(workers):  # one at a time: one pickled copy in flight
        tasks.append(executor.submit(hold, array, touched, release))
        if not touched.acquire(timeout=TIMEOUT):
            raise RuntimeError("a worker did not read the array in time")
    during = ms.memory_report().pss
    release.set()
    for task in tasks:
        task.result(TIMEOUT)
    return float((during - before) / array.nbytes)


def pid_after_a_moment(_: int) -> int:
    time.sleep(0.2)  # so that the executor starts every worker
    return os.getpid()


def run(quick: bool) -> list[Comparison]:
    size, workers = (256 << 20, 2) if quick else (2 << 30, 8)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as executor:
        list(executor.map(pid_after_a_moment, range(2 * workers)))
        ours = growth(executor, workers, lambda: ms.ones(size // 8))
        pickled = min(size, 512 << 20)
        theirs = growth(executor, workers, lambda: np.ones(pickled // 8))
    case = f"memory of 1 parent + {workers} workers reading {size >> 20} MiB"
    return [Comparison(case, "pickling", theirs, ours, "x array")]
