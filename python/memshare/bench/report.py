"""Running the cases and printing what they found."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import numpy as np

from .. import __version__
from .._core import format_bytes
from ..explore.system_info import info
from . import (
    Comparison,
    allocation,
    files,
    first_touch,
    handoff,
    memory,
    objects,
    pools,
    queues,
    sync,
    with_dask,
    with_joblib,
    with_ray,
)

CASES: dict[str, Callable[[bool], list[Comparison]]] = {
    "allocation": allocation.run,
    "handoff": handoff.run,
    "first-touch": first_touch.run,
    "memory": memory.run,
    "files": files.run,
    "sync": sync.run,
    "queue": queues.run,
    "pool": pools.run,
    "objects": objects.run,
    "joblib": with_joblib.run,
    "dask": with_dask.run,
    "ray": with_ray.run,
}


def machine() -> dict[str, object]:
    """What the numbers came from."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    found = info()
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory": format_bytes(found.memory),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "memshare": __version__,
        "page_size": found.page_size,
        "shmem_hugepages": found.shmem_hugepages,
    }


def _value(value: float, unit: str) -> str:
    if unit == "B":
        return f"{value:,.0f} B"
    if unit == "x array":
        return f"{round(value, 2) + 0.0:.2f}x"  # + 0.0: no "-0.00x" for noise
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.2f} ms"
    if value >= 1e-6:
        return f"{value * 1e6:.1f} us"
    return f"{value * 1e9:.1f} ns"


def table(rows: list[Comparison], out: TextIO) -> None:
    cells = [
        ("case", "alternative", "alternative's", "memshare's", "memshare / alternative")
    ] + [
        (
            row.case,
            row.alternative,
            _value(row.theirs, row.unit),
            _value(row.ours, row.unit),
            f"{row.ratio:.3g}",
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(5)]
    for line in cells:
        left = [line[i].ljust(widths[i]) for i in range(2)]
        right = [line[i].rjust(widths[i]) for i in range(2, 5)]
        print("  ".join(left + right), file=out)


def run(names: list[str], quick: bool, as_json: bool, out: TextIO) -> int:
    about = machine()
    if not as_json:
        print(
            f"memshare {about['memshare']} on {about['cpus']} x {about['cpu']}, "
            f"{about['memory']}, Linux {about['kernel']}, "
            f"Python {about['python']}, NumPy {about['numpy']}, shmem huge pages "
            f"{about['shmem_hugepages']}"
            + (" (--quick: smaller sizes, fewer runs)" if quick else ""),
            file=out,
        )
    rows: list[Comparison] = []
    start = time.perf_counter()
    for name in names:
        found = CASES[name](quick)
        rows += found
        if not as_json:
            print(f"  {name}: done", file=out, flush=True)
    if as_json:
        json.dump(
            {
                "machine": about,
                "quick": quick,
                "results": [
                    {**dataclasses.asdict(row), "ratio": row.ratio} for row in rows
                ],
            },
            out,
            indent=2,
        )
        print(file=out)
        return 0
    print(file=out)
    table(rows, out)
    print(
        f"\n({time.perf_counter() - start:.0f} s; medians; below 1, memshare is "
        "faster or smaller)",
        file=out,
    )
    return 0
