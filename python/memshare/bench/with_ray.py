"""Ray on one node (where Ray is installed).

One Ray instance of 2 CPUs, with memshare enabled in the driver and its
workers (``memshare.integrations.ray``).  Two cases, the contenders
interleaved:

- a large array handed to a task that reads one element of it: the plain
  array as the argument (Ray copies it into its object store at every call),
  an ObjectRef of it put once before (Ray's fastest path: the task reads the
  store without a copy, read-only), and a memshare array (its handle);
- two tasks that fill the halves of a large array: Ray's way, each task
  returns its half and the caller copies them into the array, against
  memshare's, each task writes its half into the caller's shared array.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

import memshare as ms

from . import Comparison, against, interleaved, median_times

__all__ = ["run"]

Array = np.ndarray[Any, Any]


def _remote_functions() -> tuple[Any, Any, Any]:
    import ray

    @ray.remote
    def first(a: Array) -> float:
        return float(a[0])

    @ray.remote
    def half(n: int, value: float) -> Array:
        return np.full(n, value)

    @ray.remote
    def fill_half(a: Array, which: int, value: float) -> None:
        middle = len(a) // 2
        a[which * middle : (which + 1) * middle] = value

    return first, half, fill_half


def _check(a: Array, value: float) -> None:
    if not (a[0] == value and a[-1] == value):
        raise AssertionError(f"the halves were not filled with {value}")


def _cases(size: int, repeat: int) -> list[Comparison]:
    import ray

    first, half, fill_half = _remote_functions()
    count = size // 8
    plain = np.ones(count)
    shared = ms.ones(count)
    put = ray.put(plain)
    handed = interleaved(
        {
            "Ray, the array as the argument": lambda: ray.get(first.remote(plain)),
            "Ray, an ObjectRef put once": lambda: ray.get(first.remote(put)),
            "memshare array": lambda: ray.get(first.remote(shared)),
        },
        repeat,
    )

    def rays_way() -> None:
        halves = ray.get([half.remote(count // 2, 2.0), half.remote(count // 2, 2.0)])
        plain[: count // 2], plain[count // 2 :] = halves
        _check(plain, 2.0)

    def memshares_way() -> None:
        ray.get([fill_half.remote(shared, i, 2.0) for i in (0, 1)])
        _check(shared, 2.0)

    filled = interleaved(
        {"Ray, tasks return their halves": rays_way, "memshare array": memshares_way},
        repeat,
    )
    mib = size >> 20
    return against(
        f"a {mib} MiB array to a Ray task and back",
        median_times(handed),
        "memshare array",
    ) + against(
        f"2 Ray tasks fill the halves of a {mib} MiB array",
        median_times(filled),
        "memshare array",
    )


@contextmanager
def started() -> Iterator[None]:
    """Ray on 2 CPUs, memshare enabled here and in its workers."""
    import ray

    from ..integrations import ray as ms_ray

    folder = tempfile.mkdtemp(prefix="ray-")  # short: Ray's socket paths
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level=logging.ERROR,
        log_to_driver=False,
        _temp_dir=folder,
        runtime_env={"worker_process_setup_hook": "memshare.integrations.ray.enable"},
    )
    try:
        ms_ray.enable()
        yield
    finally:
        ray.shutdown()
        shutil.rmtree(folder, ignore_errors=True)


def run(quick: bool) -> list[Comparison]:
    if importlib.util.find_spec("ray") is None:
        print("  ray: skipped (ray not installed)")
        return []
    size, repeat = (256 << 20, 3) if quick else (1 << 30, 5)
    with started():
        return _cases(size, repeat)
