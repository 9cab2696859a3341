"""Dask distributed on one host (where distributed is installed).

A LocalCluster of 2 worker processes, ``client.scatter(a, broadcast=True)``
of a large array: Dask's own serialization (every worker gets a copy over
TCP) against memshare's (``memshare.integrations.dask``) with a plain array
(copied once into shared memory) and with a memshare array (no copy).  The
time until every worker holds it, and how much the process tree's memory
(PSS) grew, over the array's size.  Each contender has a cluster of its
own; the scatters alternate.  ``hash=False``: the key is not a hash of the
data, which would cost every contender the same time to read it all.
"""

from __future__ import annotations

import importlib.util
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import numpy as np

import memshare as ms

from . import Comparison, against, median_times

__all__ = ["run"]


@contextmanager
def cluster(folder: str, shared: bool) -> Iterator[Any]:
    """A client of a LocalCluster of 2 worker processes, memshare enabled
    in it if `shared`."""
    from distributed import Client, LocalCluster

    from ..integrations import dask as ms_dask

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        local_directory=folder,
    )
    client = Client(cluster)
    try:
        if shared:
            ms_dask.enable(client)
        yield client
    finally:
        client.close()
        cluster.close()


def _scatter(client: Any, a: np.ndarray[Any, Any], shared: bool) -> tuple[float, float]:
    """Seconds to scatter `a` to every worker, and the growth of the tree's
    PSS over `a`'s size."""
    import dask.config

    before = ms.memory_report().pss
    with dask.config.set({"memshare.dask.same-host": "auto" if shared else "never"}):
        start = time.perf_counter()
        [future] = client.scatter([a], broadcast=True, hash=False)
        elapsed = time.perf_counter() - start
    grown = (ms.memory_report().pss - before) / a.nbytes
    client.cancel(future)
    del future
    _settle(client)
    return elapsed, grown


def _held(dask_worker: Any) -> int:
    return len(dask_worker.data)


def _settle(client: Any) -> None:
    # Until the workers hold nothing, and what memshare keeps for reuse here
    # is given back: the next contender starts from the same memory.
    deadline = time.monotonic() + 30
    while any(client.run(_held).values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    ms.release_unused()
    time.sleep(1.5)  # the workers' parked mappings go after a second


def run(quick: bool) -> list[Comparison]:
    if importlib.util.find_spec("distributed") is None:
        print("  dask: skipped (distributed not installed)")
        return []
    import dask.config

    size, repeat = (256 << 20, 2) if quick else (1 << 30, 3)
    plain = np.ones(size // 8)
    shared = ms.ones(size // 8)
    contenders: dict[str, Callable[[Any], tuple[float, float]]] = {
        "Dask's own": lambda client: _scatter(client, plain, False),
        "memshare, a plain array": lambda client: _scatter(client, plain, True),
        "memshare, a memshare array": lambda client: _scatter(client, shared, True),
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    memory: dict[str, list[float]] = {name: [] for name in contenders}
    with (
        tempfile.TemporaryDirectory() as folder,
        dask.config.set({"temporary-directory": folder}),
        ExitStack() as clusters,
    ):
        clients = {
            name: clusters.enter_context(cluster(folder, name != "Dask's own"))
            for name in contenders
        }
        names = list(contenders)
        for _ in range(repeat):
            for name in names:
                elapsed, grown = contenders[name](clients[name])
                times[name].append(elapsed)
                memory[name].append(grown)
            names.reverse()
    case = f"scatter {size >> 20} MiB to 2 Dask workers (LocalCluster)"
    rows = []
    for ours in ("memshare, a plain array", "memshare, a memshare array"):
        rows += against(f"{case}: {ours}", median_times(times), ours, ["Dask's own"])
        rows += against(
            f"memory the tree grew by, {ours}",
            median_times(memory),
            ours,
            ["Dask's own"],
            unit="x array",
        )
    return rows
