"""memshare in a real Dask LocalCluster of worker processes: a scattered
array is one copy for all workers, a result fetched by another worker maps
instead of copying, and between hosts (the cross-host path forced) the
results are those of distributed's own serialization, bit for bit."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask.config
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from distributed import Client, LocalCluster
from distributed.protocol import deserialize, serialize
from distributed.protocol.numpy import serialize_numpy_ndarray

import memshare as ms
from memshare.integrations import dask as ms_dask
from memshare.integrations import host

MiB = 1 << 20
SAME_HOST = {
    "sender": {"address": "tcp://127.0.0.1:4000"},
    "recipient": {"address": "tcp://127.0.0.1:5000"},
}
OTHER_HOST = {
    "sender": {"address": "tcp://10.0.0.1:4000"},
    "recipient": {"address": "tcp://10.0.0.2:5000"},
}


def start(tmp: Path) -> tuple[LocalCluster, Client]:
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # any free port: another cluster may hold 8787
        local_directory=tmp,
    )
    return cluster, Client(cluster)


@pytest.fixture(scope="module", autouse=True)
def _scratch_space(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # Dask's scratch space (dask-scratch-space) in a folder removed with the
    # suite's temporary paths.
    with dask.config.set({"temporary-directory": str(tmp_path_factory.mktemp("dask"))}):
        yield


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    cluster, client = start(tmp_path_factory.mktemp("cluster"))
    ms_dask.enable(client)
    yield client
    client.close()
    cluster.close()


def workers_of(client: Client) -> list[str]:
    return sorted(client.scheduler_info()["workers"])


def seen(x: Any) -> tuple[bool, float]:
    """Whether a worker's argument lies in shared memory, and its sum."""
    data = x if isinstance(x, np.ndarray) else x.to_numpy()
    return ms.is_shared(data), float(data.sum())


def private_of(pids: set[int]) -> dict[int, int]:
    """The memory each of `pids` alone holds (USS)."""
    return {p.pid: p.private for p in ms.memory_report().processes if p.pid in pids}


def memory_of(x: np.ndarray[Any, Any]) -> int:
    """The inode of the memory a worker's array lies in."""
    return next(e.inode for e in ms.maps() if x.ctypes.data in e)


def test_a_scattered_array_is_one_copy_for_all_workers(client: Client) -> None:
    size = 512 * MiB
    plain = np.ones(size // 8)
    pids = set(client.run(os.getpid).values())
    before = private_of(pids)
    [future] = client.scatter([plain], broadcast=True)
    assert len(client.who_has(future)[future.key]) == 2
    workers = workers_of(client)
    found = [
        client.submit(seen, future, workers=[w], pure=False).result() for w in workers
    ]
    assert found == [(True, plain.size)] * 2
    inodes = {client.submit(memory_of, future, workers=[w]).result() for w in workers}
    assert len(inodes) == 1  # both workers map one segment
    report = ms.memory_report()
    # That segment is one copy in the whole tree (PSS adds up to it) ...
    held = sum(
        e.pss for p in report.processes for e in ms.maps(p.pid) if e.inode in inodes
    )
    assert 0.95 * size < held < 1.05 * size
    # ... and no worker holds a copy of its own, as with Dask's own (the
    # margin: heaps grow, by 0.3 of it under ASan).
    grown = [after - before[pid] for pid, after in private_of(pids).items()]
    assert all(growth < 0.5 * size for growth in grown)
    del future


def make(rows: int) -> np.ndarray[Any, Any]:
    return np.ones(rows)


def test_a_result_another_worker_fetches_goes_through_shared_memory(
    client: Client,
) -> None:
    first, second = workers_of(client)
    result = client.submit(make, 256 * MiB // 8, workers=[first])
    assert client.submit(seen, result, workers=[second]).result() == (
        True,
        256 * MiB // 8,
    )
    gathered = result.result()  # and to the client, by handle too
    assert ms.is_shared(gathered)
    assert gathered.sum() == gathered.size


def frame_of(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"a": np.arange(rows, dtype=float), "b": np.ones(rows)})


def table_of(rows: int) -> pa.Table:
    return pa.table({"a": np.arange(rows, dtype=float)})


@pytest.mark.parametrize(
    "make_object", [frame_of, table_of], ids=["DataFrame", "Arrow"]
)
def test_dataframes_and_tables_travel_through_shared_memory(
    client: Client, make_object: Any
) -> None:
    first, second = workers_of(client)
    rows = 4 * MiB // 8
    result = client.submit(make_object, rows, workers=[first])
    shared, total = client.submit(seen_column, result, workers=[second]).result()
    assert shared
    assert total == rows * (rows - 1) / 2
    assert result.result().equals(make_object(rows))


def seen_column(x: Any) -> tuple[bool, float]:
    column = x["a"].to_numpy()
    if isinstance(x, pa.Table):
        buffer = x.column("a").chunk(0).buffers()[1]
        column = np.frombuffer(buffer, np.float64)
    return ms.is_shared(column), float(column.sum())


def test_a_memshare_array_scattered_is_the_callers_memory(client: Client) -> None:
    shared = ms.zeros(MiB)
    [future] = client.scatter([shared], broadcast=True)
    client.submit(write_into, future, pure=False).result()
    assert shared[0] == 7  # the worker wrote into the client's memory
    del future


def write_into(x: np.ndarray[Any, Any]) -> None:
    x[0] = 7


# -- the decision, and the cross-host path -----------------------------------------


def test_the_host_is_decided_by_the_peers_addresses() -> None:
    assert ms_dask._same_host(SAME_HOST)
    assert not ms_dask._same_host(OTHER_HOST)
    assert not ms_dask._same_host(None)  # spilling to disk: no peer
    assert not ms_dask._same_host({"sender": {}, "recipient": {}})
    with dask.config.set({"memshare.dask.same-host": "never"}):
        assert not ms_dask._same_host(SAME_HOST)


@pytest.mark.parametrize(
    "obj",
    [np.arange(1 << 20), frame_of(1 << 16), table_of(1 << 16), np.ones(3)],
    ids=["array", "DataFrame", "Arrow", "small array"],
)
def test_between_hosts_the_frames_are_distributeds_own(obj: Any) -> None:
    header, frames = serialize(obj, context=OTHER_HOST)
    assert "memshare" not in str(header)
    back = deserialize(header, frames)
    assert back.equals(obj) if hasattr(obj, "equals") else np.array_equal(back, obj)
    if isinstance(obj, np.ndarray):
        theirs = serialize_numpy_ndarray(obj, context=OTHER_HOST)
        assert [bytes(f) for f in frames] == [bytes(f) for f in theirs[1]]


def test_on_one_host_large_data_goes_as_a_handle() -> None:
    big = np.arange(1 << 20)
    header, frames = serialize(big, context=SAME_HOST)
    assert sum(len(memoryview(f).cast("B")) for f in frames) < 1024
    back = deserialize(header, frames)
    assert ms.is_shared(back)
    np.testing.assert_array_equal(back, big)


def test_a_handle_from_another_host_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    header, frames = serialize(np.arange(1 << 20), context=SAME_HOST)
    with monkeypatch.context() as here:
        here.setattr(host, "HOST", "another machine")
        with pytest.raises(ValueError, match="shared memory of another host"):
            deserialize(header, frames)
    deserialize(header, frames)  # takes back what was sent


def test_a_cluster_memshare_was_not_enabled_in_receives_it(tmp_path: Path) -> None:
    # This process sends through shared memory; the cluster's workers have
    # not registered memshare, and do so on unpickling the first handle.
    cluster, client = start(tmp_path)
    try:
        [future] = client.scatter([np.ones(MiB)], broadcast=True)
        assert client.submit(seen, future, pure=False).result() == (True, MiB)
        frame = pd.DataFrame({"a": np.ones(MiB)})
        [table] = client.scatter([pa.Table.from_pandas(frame)])
        assert client.submit(seen_column, table).result() == (True, MiB)
    finally:
        client.close()
        cluster.close()


def test_forcing_the_cross_host_path_gives_the_same_results(tmp_path: Path) -> None:
    with dask.config.set({"memshare.dask.same-host": "never"}):
        cluster, client = start(tmp_path)
        try:
            ms_dask.enable(client)
            first, second = workers_of(client)
            result = client.submit(make, MiB, workers=[first])
            assert client.submit(seen, result, workers=[second]).result() == (
                False,
                MiB,
            )
            [future] = client.scatter([np.arange(MiB)], broadcast=True)
            assert client.submit(seen, future, pure=False).result() == (
                False,
                MiB * (MiB - 1) / 2,
            )
            assert not ms.is_shared(result.result())
        finally:
            client.close()
            cluster.close()
