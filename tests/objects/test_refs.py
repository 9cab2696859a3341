"""ms.put, ms.share and ObjectRef in one process: what comes back equals what
went in, its buffers are views of shared memory, read-only unless asked,
and a damaged ref is a clear error."""

from __future__ import annotations

import pickle
from multiprocessing.reduction import ForkingPickler
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import memshare as ms
from memshare.objects import refs

OBJECTS: dict[str, Any] = {
    "int": 42,
    "nested": {"list": [1, "two", 3.0], "tuple": (None, b"bytes")},
    "bytes": b"x" * 100_000,
    "bytearray": bytearray(b"abc" * 1000),
    "array": np.arange(10_000, dtype=np.float32).reshape(100, 100),
    "fortran": np.asfortranarray(np.arange(60).reshape(6, 10)),
    "strided": np.arange(100)[::3],
    "empty array": np.zeros((0, 4)),
    "0-d array": np.array(3.5),
    "records": np.zeros(5, [("id", "<i8"), ("pos", "<f4", (3,))]),
    "arrays in a dict": {"a": np.ones(1000), "b": np.arange(7)},
    "DataFrame": pd.DataFrame(
        {
            "a": np.arange(1000, dtype=float),
            "b": np.arange(1000) % 7,
            "s": [f"s{i}" for i in range(1000)],
            "c": pd.Categorical(["x", "y"] * 500),
        }
    ),
    "Series": pd.Series(np.linspace(0, 1, 500), name="s"),
    "Arrow table": pa.table(
        {"x": np.arange(1000), "y": [f"y{i}" for i in range(1000)], "z": [1.5] * 1000}
    ),
    "Arrow array": pa.array([1, None, 3]),
}


def same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, (pd.DataFrame, pd.Series)):
        return bool(a.equals(b))
    if isinstance(a, (pa.Table, pa.Array)):
        return bool(a.equals(b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


@pytest.mark.parametrize("name", OBJECTS)
def test_what_comes_back_equals_what_went_in(name: str) -> None:
    obj = OBJECTS[name]
    ref = ms.put(obj)
    assert same(ref.get(), obj)
    assert same(ms.share(obj), obj)
    assert same(pickle.loads(pickle.dumps(ref)).get(), obj)


def test_arrays_come_back_as_views_of_the_shared_memory() -> None:
    ref = ms.put({"a": np.arange(1 << 20), "b": np.ones((512, 512))})
    first, second = ref.get(), ref.get()
    for key in ("a", "b"):
        assert ms.is_shared(first[key])
        assert np.shares_memory(first[key], second[key])
    backing = ms.backing(first["a"])
    assert backing is not None
    assert backing.kind == "anonymous"
    assert backing.size >= ref.nbytes  # whole pages


def test_a_dataframes_columns_live_in_shared_memory() -> None:
    frame = ms.share(pd.DataFrame({"a": np.arange(1 << 16, dtype=float), "b": 1}))
    assert ms.is_shared(frame["a"].to_numpy())
    assert ms.is_shared(frame["b"].to_numpy())
    # Sent through multiprocessing, the columns go as handles.
    pickled = ForkingPickler.dumps(frame)
    assert len(pickled) < 4096
    back = ForkingPickler.loads(pickled)  # every handle sent is received
    assert np.shares_memory(back["a"].to_numpy(), frame["a"].to_numpy())


def test_an_arrow_tables_buffers_travel_by_handle() -> None:
    table = ms.share(pa.table({"x": np.arange(1 << 18), "y": ["s"] * (1 << 18)}))
    pickled = ForkingPickler.dumps(table)
    assert len(pickled) < 8192
    back = ForkingPickler.loads(pickled)
    assert back.equals(table)
    mine = table.column("x").chunk(0).buffers()[1]
    theirs = back.column("x").chunk(0).buffers()[1]
    assert mine.address == theirs.address  # the same memory, mapped once here


def test_arrow_buffers_not_in_shared_memory_pickle_as_before() -> None:
    table = pa.table({"x": np.arange(1000)})
    for pickled in (ForkingPickler.dumps(table), pickle.dumps(table, protocol=5)):
        assert pickle.loads(pickled).equals(table)
    ms.put(table)  # registers the reducer
    assert ForkingPickler.loads(ForkingPickler.dumps(table)).equals(table)
    queue = ms.Queue()
    queue.put(table)
    assert queue.get().equals(table)


def test_the_object_is_read_only_unless_asked() -> None:
    ref = ms.put(np.zeros(100))
    assert not ref.writable
    with pytest.raises(ValueError, match="read-only"):
        ref.get()[0] = 1
    mutable = ms.put(np.zeros(100), writable=True)
    assert mutable.writable
    mutable.get()[0] = 5
    assert mutable.get()[0] == 5  # every rebuild sees the write


def test_an_array_read_only_at_put_stays_read_only() -> None:
    frozen = np.ones(10)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        ms.put(frozen, writable=True).get()[0] = 2


def test_put_takes_a_snapshot() -> None:
    original = np.zeros(10)
    ref = ms.put(original)
    original[:] = 9
    assert ref.get().sum() == 0


def test_a_ref_pickles_small_however_big_its_object() -> None:
    ref = ms.put(np.ones(8 << 20))  # 64 MiB
    for pickled in (pickle.dumps(ref), ForkingPickler.dumps(ref)):
        assert len(pickled) < 1024
        assert pickle.loads(pickled).nbytes == ref.nbytes  # received, as sent
    assert ref.nbytes > 64 << 20
    assert "64.0 MiB, read-only" in repr(ref)


def _inodes_mapped() -> set[int]:
    return {entry.inode for entry in ms.maps() if entry.inode}


def test_the_memory_lasts_while_anything_rebuilt_from_it_does() -> None:
    ref = ms.put(np.arange(1 << 20))
    array = ref.get()
    inode = next(e.inode for e in ms.maps() if array.ctypes.data in e)
    del ref
    ms.release_unused()
    assert inode in _inodes_mapped()  # held by the array
    assert array[-1] == (1 << 20) - 1
    del array
    ms.release_unused()  # what memshare kept for reuse
    assert inode not in _inodes_mapped()


def test_objects_that_cannot_be_pickled_say_so() -> None:
    # As pickle says it (its error's type differs between Pythons).
    with pytest.raises(
        (AttributeError, TypeError, pickle.PicklingError), match="pickle"
    ):
        ms.put(lambda: 1)


def test_a_handle_to_memory_that_is_no_frame_is_refused() -> None:
    with pytest.raises(ValueError, match=r"handle is damaged.*float64"):
        refs._rebuild(_arguments(ms.zeros((4, 4))))


def _arguments(array: np.ndarray[Any, Any]) -> tuple[Any, ...]:
    reduced = ms.arrays.pickling.reduce_ndarray(array)
    assert isinstance(reduced, tuple)
    return tuple(reduced[1])


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ((1 << 40).to_bytes(8, "little") + (0).to_bytes(8, "little"), "says it holds"),
        ((0).to_bytes(8, "little") + (1 << 40).to_bytes(8, "little"), "cannot hold"),
    ],
)
def test_a_damaged_frame_is_a_value_error(header: bytes, message: str) -> None:
    ref = ms.put(np.ones(100), writable=True)
    memory = ms.arrays.pickling.rebuild_ndarray(*_arguments(ref._memory))
    memory[: len(header)] = np.frombuffer(header, np.uint8)
    with pytest.raises(ValueError, match=f"ObjectRef's memory is damaged.*{message}"):
        ref.get()
