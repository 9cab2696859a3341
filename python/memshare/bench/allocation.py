"""Allocate a shared array, fill it, free it; again and again.

The standard library's way is a new ``SharedMemory`` block and an array
over it; ``mmap``'s, a new anonymous shared mapping.  Both give the kernel
fresh pages to fault in and zero, one by one, every time.  memshare reuses
the memory of the array freed before (``ms.empty`` keeps its contents, as
``numpy.empty`` does; ``ms.zeros`` would add a memset).  Each contender
allocates once, untimed, before each timed loop: the steady state of a
program that allocates an array per batch.
"""

from __future__ import annotations

import mmap
import time
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import numpy as np

import memshare as ms

from . import Comparison, against, median_times


def with_stdlib(size: int) -> None:
    block = SharedMemory(create=True, size=size)
    array: np.ndarray[Any, Any] = np.ndarray(size // 8, np.float64, buffer=block.buf)
    array.fill(1.0)
    del array
    block.close()
    block.unlink()


def with_mmap(size: int) -> None:
    memory = mmap.mmap(-1, size)  # MAP_SHARED | MAP_ANONYMOUS
    array = np.frombuffer(memory, np.float64)
    array.fill(1.0)
    del array
    memory.close()


def with_memshare(size: int) -> None:
    array = ms.empty(size // 8)
    array.fill(1.0)
    del array


def run(quick: bool) -> list[Comparison]:
    size, times, repeat = (64 << 20, 10, 3) if quick else (256 << 20, 20, 5)
    contenders = {
        "stdlib SharedMemory + ndarray": with_stdlib,
        "mmap anonymous + ndarray": with_mmap,
        "memshare": with_memshare,
    }
    loops: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for _ in range(repeat):
        for name in names:
            contenders[name](size)  # a size seen before, as in a loop over batches
            start = time.perf_counter()
            for _ in range(times):
                contenders[name](size)
            loops[name].append((time.perf_counter() - start) / times)
        names.reverse()
    case = f"allocate, fill, free {size >> 20} MiB (x{times})"
    return against(case, median_times(loops), "memshare")
