"""A worker reads every page of an array it has just received.

A new mapping has no pages in the worker's page tables: each first touch is
a page fault.  Timed from sending the array to getting the sum back.  The standard library's ``SharedMemory`` by name, and a
memshare array, fault page by page as the worker sums them; with
``ms.populate(array)`` first, memshare maps them all in one system call.
Every run sends memory the worker has never mapped.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.pool import Pool
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import numpy as np

import memshare as ms

from . import Comparison, against, median_times
from .handoff import on_block


def total(array: np.ndarray[Any, Any], populate: bool = False) -> float:
    if populate:
        ms.populate(array)
    return float(array.sum())


def timed(
    pool: Pool, function: Callable[..., float], arguments: tuple[Any, ...]
) -> float:
    """Seconds to send `arguments`, run `function` on them and get the
    result back."""
    start = time.perf_counter()
    pool.apply(function, arguments)
    return time.perf_counter() - start


def run(quick: bool) -> list[Comparison]:
    size, repeat = (256 << 20, 3) if quick else (1 << 30, 5)
    count = size // 8
    times: dict[str, list[float]] = {
        "stdlib SharedMemory by name": [],
        "memshare": [],
        "memshare, ms.populate() first": [],
    }
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        for _ in range(repeat):
            block = SharedMemory(create=True, size=size)
            np.ndarray(count, np.float64, buffer=block.buf)[:] = 1.0
            times["stdlib SharedMemory by name"].append(
                timed(pool, on_block, (total, block.name, (count,), "<f8"))
            )
            block.close()
            block.unlink()
            for name, populate in (
                ("memshare", False),
                ("memshare, ms.populate() first", True),
            ):
                array = ms.ones(count)  # memory the worker has not mapped
                times[name].append(timed(pool, total, (array, populate)))
                del array
                ms.release_unused()  # the next array is new memory
    medians = median_times(times)
    case = f"a worker reads all of a {size >> 20} MiB array it received"
    stdlib = ["stdlib SharedMemory by name"]
    return against(case, medians, "memshare", stdlib) + against(
        case + ", populated", medians, "memshare, ms.populate() first", stdlib
    )
