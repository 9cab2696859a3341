"""memshare in a real Ray instance (``ray.init(num_cpus=2)``, worker
processes started by Ray): tasks and actors write into the caller's shared
arrays, shared arrays come back by handle, and every other array travels as
Ray sends it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import ray
import ray.cloudpickle
from support import ray_folder

import memshare as ms
from memshare.integrations import host
from memshare.integrations import ray as ms_ray

MiB = 1 << 20
Array = np.ndarray[Any, Any]


@pytest.fixture(scope="module", autouse=True)
def _ray() -> Iterator[None]:
    with ray_folder() as folder:  # Ray's session: its logs and sockets
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            _temp_dir=folder,
            runtime_env={
                "worker_process_setup_hook": "memshare.integrations.ray.enable"
            },
        )
        ms_ray.enable()
        yield
        ray.shutdown()


@ray.remote
def fill(a: Array, value: float) -> bool:
    a[...] = value
    return bool(a.flags.writeable)


@ray.remote
def part(a: Array) -> Array:
    return a[10:20]


@ray.remote
def made_in_worker(n: int) -> Array:
    return ms.full(n, 3.0)


@ray.remote
def seen(a: Array) -> tuple[bool, bool, float]:
    """Whether a task's array lies in shared memory, is writable, and its sum."""
    return ms.is_shared(a), bool(a.flags.writeable), float(a.sum())


@ray.remote
class Accumulator:
    def __init__(self, a: Array) -> None:
        self.a = a

    def add(self, value: float) -> float:
        self.a += value
        return float(self.a.sum())


@pytest.mark.parametrize(
    "make",
    [
        lambda: ms.zeros(MiB),
        lambda: ms.zeros((512, 256), dtype=np.int32, order="F"),
        lambda: ms.zeros(3 * MiB)[MiB : 2 * MiB],
        lambda: ms.zeros((300, 400))[::3, 1::2],
    ],
    ids=["1-D", "Fortran", "slice", "strided"],
)
def test_a_task_writes_into_the_callers_array(make: Any) -> None:
    a = make()
    assert ray.get(fill.remote(a, 7)) is True
    assert (a == 7).all()  # the task wrote into the caller's memory


def test_an_actor_holds_the_callers_array() -> None:
    a = ms.zeros(1000)
    actor = Accumulator.remote(a)  # type: ignore[attr-defined]
    assert ray.get(actor.add.remote(1)) == 1000
    assert ray.get(actor.add.remote(2)) == 3000
    assert (a == 3).all()
    ray.kill(actor)


def test_a_view_a_task_returns_is_the_callers_memory() -> None:
    a = ms.array(np.arange(100.0))
    back = ray.get(part.remote(a))
    assert np.shares_memory(back, a)
    np.testing.assert_array_equal(back, np.arange(10.0, 20.0))


def test_a_shared_array_made_in_a_worker_arrives_by_handle() -> None:
    # The worker setup hook enabled memshare there.
    back = ray.get(made_in_worker.remote(MiB))
    assert ms.is_shared(back)
    assert back.flags.writeable
    assert (back == 3).all()
    assert ray.get(seen.remote(back)) == (True, True, 3.0 * MiB)


def test_a_handle_is_all_ray_stores() -> None:
    big = ms.zeros(64 * MiB)
    buffers: list[Any] = []
    inband = ray.cloudpickle.dumps(big, protocol=5, buffer_callback=buffers.append)
    assert len(inband) < 1024
    assert buffers == []  # nothing out of band: no copy into the object store
    back = ray.cloudpickle.loads(inband)
    assert np.shares_memory(back, big)


def test_object_refs_arrive_as_views_of_their_memory() -> None:
    ref = ms.put({"a": np.arange(1000.0)}, writable=True)

    @ray.remote
    def bump(r: ms.ObjectRef) -> float:
        obj = r.get()
        obj["a"][0] = 42
        return float(obj["a"].sum())

    assert ray.get(bump.remote(ref)) == 42 + 999 * 1000 / 2
    assert ref.get()["a"][0] == 42


@ray.remote
def columns_shared(x: Any) -> list[bool]:
    if isinstance(x, pa.Table):
        buffers = [c.buffers()[1] for column in x.columns for c in column.chunks]
        return [ms.is_shared(np.frombuffer(b, np.uint8)) for b in buffers]
    return [ms.is_shared(x[column].to_numpy()) for column in x.columns]


@pytest.mark.parametrize("kind", ["DataFrame", "Arrow"])
def test_shared_dataframes_and_tables_arrive_as_views(kind: str) -> None:
    columns = {"a": np.arange(MiB, dtype=float), "b": np.ones(MiB)}
    original = pd.DataFrame(columns) if kind == "DataFrame" else pa.table(columns)
    shared = ms.share(original)
    assert ray.get(columns_shared.remote(shared)) == [True, True]
    assert ray.get(ray.put(shared)).equals(original)


@pytest.mark.parametrize(
    "a",
    [
        np.arange(4 * MiB, dtype=float),
        np.arange(10),
        np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        np.arange(100.0)[::7],
        np.array([{"x": 1}, "text", None], dtype=object),
        np.zeros(3, dtype=[("x", "<i4"), ("y", "<f8", (2,))]),
    ],
    ids=["large", "small", "Fortran", "strided", "objects", "structured"],
)
def test_other_arrays_travel_as_ray_sends_them(a: Array) -> None:
    back = ray.get(ray.put(a))
    assert not ms.is_shared(back)
    assert back.dtype == a.dtype
    if a.flags.fnc:  # Fortran order, not C's, is kept
        assert back.flags.fnc
    if a.dtype.hasobject:
        assert back.tolist() == a.tolist()
    else:
        assert back.tobytes() == a.tobytes()  # bit for bit
    # Ray's own zero-copy path: a contiguous array's data goes out of band,
    # and tasks read it from the object store, read-only.
    buffers: list[Any] = []
    inband = ray.cloudpickle.dumps(a, protocol=5, buffer_callback=buffers.append)
    if a.flags.forc and not a.dtype.hasobject:
        assert sum(b.raw().nbytes for b in buffers) == a.nbytes
        assert len(inband) < 1024
        if a.dtype.kind == "f":
            assert ray.get(seen.remote(a)) == (False, False, float(a.sum()))


def test_a_handle_arriving_on_another_node_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pickled = ray.cloudpickle.dumps(ms.zeros(10), protocol=5)
    monkeypatch.setattr(host, "HOST", "another machine")
    with pytest.raises(ValueError, match="another node than its caller's"):
        ray.cloudpickle.loads(pickled)


def test_enabling_twice_changes_nothing() -> None:
    ms_ray.enable()
    a = ms.zeros(10)
    assert ray.get(fill.remote(a, 1)) is True
    assert a.sum() == 10
