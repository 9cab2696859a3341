"""Read every float64 of a file: map it (or read it) and sum it.

The file is written first, so it is in the page cache and every contender
reads memory, not the disk: the difference is the cost of getting at it.
"""

from __future__ import annotations

import mmap
import os
import tempfile
from pathlib import Path

import numpy as np

import memshare as ms

from . import Comparison, against, interleaved, median_times


def with_memshare(path: Path, populate: bool) -> float:
    mapping = ms.map_file(path, mode="r", populate=populate)
    total = float(mapping.view(np.float64).sum())
    mapping.close()
    return total


def with_memmap(path: Path) -> float:
    return float(np.memmap(path, np.float64, mode="r").sum())


def with_fromfile(path: Path) -> float:
    return float(np.fromfile(path, np.float64).sum())


def with_mmap(path: Path) -> float:
    with (
        open(path, "rb") as file,
        mmap.mmap(file.fileno(), 0, prot=mmap.PROT_READ) as m,
    ):
        array = np.frombuffer(m, np.float64)
        total = float(array.sum())
        del array
    return total


def run(quick: bool) -> list[Comparison]:
    size, repeat = (256 << 20, 9) if quick else (1 << 30, 21)
    with tempfile.TemporaryDirectory(prefix="memshare-bench-") as directory:
        path = Path(directory) / "data.f64"
        np.ones(size // 8).tofile(path)
        os.sync()
        contenders = {
            "numpy.memmap": lambda: with_memmap(path),
            "numpy.fromfile": lambda: with_fromfile(path),
            "mmap.mmap": lambda: with_mmap(path),
            "ms.map_file": lambda: with_memshare(path, populate=False),
            "ms.map_file(populate=True)": lambda: with_memshare(path, populate=True),
        }
        medians = median_times(interleaved(contenders, repeat))
    case = f"read a {size >> 20} MiB file"
    others = ["numpy.memmap", "numpy.fromfile", "mmap.mmap"]
    return against(case, medians, "ms.map_file", others) + against(
        case + ", populated", medians, "ms.map_file(populate=True)", ["numpy.memmap"]
    )
