"""Shared arrays in one process: the constructors against NumPy's, named
arrays and their header, what backs an array, and how arrays pickle."""

from __future__ import annotations

import gc
import os
import pickle
from multiprocessing.reduction import ForkingPickler
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from support import in_child, smaps_entry

import memshare as ms

PAGE = ms.PAGESIZE
STRUCTURED = np.dtype(
    [
        ("id", "<i8"),
        ("pos", "<f4", (3,)),
        ("name", "S8"),
        ("inner", [("a", "u1"), ("b", "<c8")]),
    ]
)
DTYPES = [
    np.bool_,
    np.int8,
    np.uint16,
    np.int64,
    np.float16,
    np.float64,
    np.complex128,
    "datetime64[ns]",
    "timedelta64[s]",
    "S5",
    "U3",
    "V7",
    STRUCTURED,
]


def same(
    shared: np.ndarray[Any, Any], expected: np.ndarray[Any, Any], values: bool = True
) -> None:
    """`shared` is a shared array like `expected` (and holds its values)."""
    assert type(shared) is np.ndarray
    assert ms.is_shared(shared)
    assert shared.dtype == expected.dtype
    assert shared.shape == expected.shape
    assert shared.flags.c_contiguous == expected.flags.c_contiguous
    assert shared.flags.f_contiguous == expected.flags.f_contiguous
    assert shared.flags.writeable
    if values:
        assert shared.tobytes() == expected.tobytes()


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", [(), (0,), (7,), (3, 4), (2, 0, 5)], ids=str)
@pytest.mark.parametrize("order", ["C", "F"])
def test_constructors_match_numpys(
    dtype: Any, shape: tuple[int, ...], order: Any
) -> None:
    same(ms.zeros(shape, dtype, order), np.zeros(shape, dtype, order))
    # empty's values are what recycled memory held, as NumPy's are.
    same(ms.empty(shape, dtype, order), np.empty(shape, dtype, order), values=False)
    same(ms.ones(shape, dtype, order), np.ones(shape, dtype, order))
    prototype = np.ones(shape, dtype, order)
    same(ms.zeros_like(prototype), np.zeros_like(prototype))
    same(ms.ones_like(prototype), np.ones_like(prototype))
    same(ms.empty_like(prototype), np.empty_like(prototype), values=False)
    same(ms.array(prototype), np.array(prototype))


def test_full_and_fill_values() -> None:
    same(ms.full((2, 3), 7), np.full((2, 3), 7))
    same(ms.full((2, 3), 2.5, dtype=np.int32), np.full((2, 3), 2.5, dtype=np.int32))
    same(ms.full(4, np.nan), np.full(4, np.nan))
    record = np.array((1, [0.5, 1, 2], b"x", (3, 1j)), STRUCTURED)[()]
    same(ms.full((2,), record), np.full((2,), record))
    same(ms.full_like(np.arange(6).reshape(2, 3), 9), np.full((2, 3), 9))
    same(ms.ones(3, dtype=None), np.ones(3))


def test_like_forms_follow_the_prototype() -> None:
    fortran = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    same(ms.zeros_like(fortran), np.zeros_like(fortran))
    same(ms.zeros_like(fortran, order="C"), np.zeros_like(fortran, order="C"))
    same(
        ms.zeros_like(fortran, dtype="i2", shape=(5, 2)),
        np.zeros_like(fortran, dtype="i2", shape=(5, 2)),
    )
    same(ms.ones_like([[1, 2], [3, 4]]), np.ones_like([[1, 2], [3, 4]]))
    with pytest.raises(ValueError, match="CPU"):
        ms.zeros_like(fortran, device="gpu")


def test_array_and_asarray_copy_only_what_is_not_shared() -> None:
    shared = ms.zeros(5)
    assert ms.asarray(shared) is shared
    assert ms.array(shared, copy=None) is shared
    assert ms.array(shared) is not shared
    assert ms.asarray(shared, dtype=np.int32) is not shared
    plain = np.arange(5)
    copied = ms.asarray(plain)
    same(copied, plain)
    with pytest.raises(ValueError, match="avoid a copy"):
        ms.array(plain, copy=False)
    same(
        ms.array([[1, 2], [3, 4]], dtype=np.uint8, order="F"),
        np.array([[1, 2], [3, 4]], dtype=np.uint8, order="F"),
    )
    same(ms.array(3.5, ndmin=2), np.array(3.5, ndmin=2))
    same(ms.array("text"), np.array("text"))


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="pointers to Python objects"):
        ms.zeros(3, dtype=object)
    with pytest.raises(TypeError, match="pointers to Python objects"):
        ms.array([1, "a", None])
    with pytest.raises(ValueError, match="negative dimensions"):
        ms.zeros((2, -1))
    with pytest.raises(ValueError, match="order"):
        ms.zeros(3, order="K")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="like="):
        ms.zeros(3, like=np.zeros(1))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ms.zeros(2.5)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(
    dtype=hnp.scalar_dtypes() | hnp.nested_dtypes(max_itemsize=64),
    shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6),
    order=st.sampled_from(["C", "F"]),
)
def test_any_dtype_shape_and_order(
    dtype: Any, shape: tuple[int, ...], order: Any
) -> None:
    expected = np.zeros(shape, dtype, order)
    shared = ms.zeros(shape, dtype, order)
    same(shared, expected)
    assert ms.backing(shared).nbytes == max(expected.nbytes, 0)  # type: ignore[union-attr]


# -- named arrays --------------------------------------------------------------------------


def test_a_named_array_is_attached_anywhere_and_stays(shm_name: str) -> None:
    made = ms.full((4, 3), 2.5, name=shm_name, order="F")
    made[1, 2] = 9
    attached = ms.attach(shm_name)
    assert attached.flags.f_contiguous
    np.testing.assert_array_equal(attached, made)
    attached[0, 0] = -1
    assert made[0, 0] == -1
    readonly = ms.attach("/" + shm_name, readonly=True)
    assert not readonly.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        readonly[0, 0] = 1
    # The segment is an .npy file: NumPy itself reads it.
    np.testing.assert_array_equal(np.load(f"/dev/shm/{shm_name}"), made)
    found = ms.backing(attached[2:, 1])
    assert found is not None
    assert (found.kind, found.name, found.size) == ("named", shm_name, PAGE + 96)
    assert found.offset == PAGE + 2 * 8 + 4 * 8
    del made, attached, readonly
    gc.collect()
    np.testing.assert_array_equal(ms.attach(shm_name)[1], [2.5, 2.5, 9])
    ms.unlink(shm_name)
    with pytest.raises(FileNotFoundError):
        ms.attach(shm_name)


def test_named_arrays_of_every_kind(shm_name: str) -> None:
    for dtype in DTYPES:
        for shape in [(), (0,), (3, 2)]:
            made = ms.ones(shape, dtype, name=shm_name)
            attached = ms.attach(shm_name)
            assert (attached.dtype, attached.shape) == (made.dtype, made.shape)
            assert attached.tobytes() == made.tobytes()
            ms.unlink(shm_name)


def test_a_name_taken_is_refused(shm_name: str) -> None:
    ms.zeros(3, name=shm_name)
    with pytest.raises(FileExistsError):
        ms.zeros(3, name=shm_name)


def test_segments_that_hold_no_array_are_refused(shm_name: str) -> None:
    block = ms.SharedMemory(shm_name, create=True, size=2 * PAGE)
    with pytest.raises(ValueError, match="holds no memshare array"):
        ms.attach(shm_name)
    made = ms.zeros(10, name=shm_name + "-array")
    try:
        header = bytes(ms.attach(shm_name + "-array").base.base.obj[:PAGE])  # type: ignore[union-attr]
    finally:
        del made
        ms.unlink(shm_name + "-array")
    for damage, why in [
        (header.replace(b"'descr'", b"'descx'"), "damaged"),
        (header.replace(b"(10,), }", b"(9999,)}"), "damaged"),
        (header[:8] + b"\xff\xff\xff\x7f" + header[12:], "damaged"),
        (header.replace(b"'<f8', ", b"'|O',  "), "Python objects"),
        # Each once escaped as another error: tokenize.TokenError, IndexError,
        # RecursionError, MemoryError.
        (header.replace(b"{'descr'", b"{'''descr"), "string in it does not end"),
        (header[:6] + b"\x07\x00" + header[8:], "no .npy version"),
        (header.replace(b"(10,), }", b"(" * 40 + b"}"), "nest deeper"),
        (header.replace(b"(10,), }", b"[" * 1000 + b"]" * 1000), "nest deeper"),
        (header.replace(b"'<f8'", b"'<f\xff'"), "not printable ASCII"),
        (header.replace(b"(10,)", b"(-1,)"), "not a tuple of sizes"),
        (header.replace(b"False", b"  [1]"), "not a bool"),
        (header.replace(b"'<f8'", b"'<q9'"), "names no dtype"),
        (header[:-1] + b" ", "newline"),
    ]:
        if why != "newline":  # a page long, as memshare pads headers
            damage = damage.rstrip(b" \n")[: PAGE - 1].ljust(PAGE - 1) + b"\n"
        block.buf[:PAGE] = damage
        with pytest.raises(ValueError, match=why):
            ms.attach(shm_name)
    block.close()


def _attach_outcome(name: str) -> str:
    try:
        found = ms.attach(name)
    except ValueError:
        return "ValueError"
    return f"array of {found.dtype}{found.shape}"


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    changes=st.lists(
        st.tuples(st.integers(0, 127), st.integers(0, 255)), min_size=1, max_size=6
    )
)
def test_fuzzed_headers_give_a_value_error_or_an_array(
    changes: list[tuple[int, int]], shm_name: str
) -> None:
    made = ms.zeros(
        (4, 5), dtype=np.dtype([("a", "<i4"), ("b", "<f8", (2,))]), name=shm_name
    )
    header = made.base.base.obj  # type: ignore[union-attr]
    try:
        for position, value in changes:
            header[position] = value
        # In a child: a header that killed its reader would fail only this test.
        outcome = in_child(lambda: _attach_outcome(shm_name))
        assert outcome == "ValueError" or outcome.startswith("array of"), outcome
    finally:
        del made, header
        ms.unlink(shm_name)


# -- what backs an array ------------------------------------------------------------------------


def test_backing_and_is_shared() -> None:
    a = ms.zeros((10, 10))
    found = ms.backing(a)
    segment = 2 * ms.PAGESIZE  # a page for the data, then the lease page
    assert found == ms.Backing("anonymous", None, 0, 800, segment)
    view = a[2:5, ::3]
    assert ms.is_shared(view)
    assert ms.backing(view) == ms.Backing("anonymous", None, 160, 240, segment)
    assert ms.is_shared(a.T)
    assert ms.is_shared(a[::-1])
    assert not ms.is_shared(a + 1)
    assert not ms.is_shared(np.zeros(3))
    assert not ms.is_shared([1, 2])
    assert ms.backing(np.zeros(3)) is None


def test_populate_faults_an_arrays_pages_in_at_once() -> None:
    a = ms.zeros(1 << 18)  # 2 MiB, no page touched yet
    before = smaps_entry(a.ctypes.data)["Rss"]
    ms.populate(a[1000:])
    after = smaps_entry(a.ctypes.data)["Rss"]
    assert after - before >= (a.nbytes - 8000) // 1024 - 4  # kiB
    ms.populate(a, write=True)
    with pytest.raises(ValueError, match="memory that memshare shares"):
        ms.populate(np.zeros(4))


def test_the_memory_goes_with_the_last_view() -> None:
    gc.collect()
    before = len(os.listdir("/proc/self/fd"))
    arrays = [ms.zeros(1000) for _ in range(50)]
    views = [a[::2] for a in arrays]
    assert len(os.listdir("/proc/self/fd")) == before + 50  # one descriptor each
    del arrays
    gc.collect()
    assert all(ms.is_shared(v) for v in views)
    del views
    gc.collect()
    ms.release_unused()  # what was kept for reuse holds a descriptor each
    assert len(os.listdir("/proc/self/fd")) == before


def test_memory_let_go_of_while_the_registry_is_busy_is_forgotten_after() -> None:
    # The garbage collector may let go of an array's memory in the middle of
    # the registry's own work (any allocation there can start a collection):
    # it must neither wait for itself nor be lost.
    from memshare.arrays import _registry

    array = ms.zeros(1000)
    low, high = _registry.bounds(array)
    assert _registry.find_range(low, high) is not None
    with _registry._lock:
        del array
        gc.collect()
    assert _registry.find_range(low, high) is None
    assert all(entry.start != low for entry in _registry._entries)


# -- pickling -----------------------------------------------------------------------------------


def test_pickle_keeps_value_semantics() -> None:
    a = ms.full((3, 3), 4.0)
    copy = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(copy, a)
    assert not ms.is_shared(copy)
    copy[0, 0] = 0
    assert a[0, 0] == 4


@pytest.mark.parametrize(
    "plain",
    [np.arange(10), np.zeros((3, 4), order="F")[:, ::2], np.zeros(3, STRUCTURED)],
    ids=["contiguous", "strided", "structured"],
)
def test_other_arrays_pickle_as_before(plain: np.ndarray[Any, Any]) -> None:
    assert bytes(ForkingPickler.dumps(plain)) == pickle.dumps(plain)


@pytest.mark.parametrize("name", [None, "memshare-handle-size"])
def test_handles_are_small_whatever_the_size(name: str | None) -> None:
    big = ms.zeros((4096, 4096), name=name)  # 128 MiB
    try:
        for sent in (big, big[::3, 7:], big.T, np.asfortranarray(big[:10]), big[5]):
            if ms.is_shared(sent):
                assert len(ForkingPickler.dumps(sent)) < 1024
        record = ms.zeros(10**6, STRUCTURED, name=None if name is None else name + "2")
        assert len(ForkingPickler.dumps(record[::7])) < 1024
    finally:
        if name is not None:
            ms.unlink(name)
            ms.unlink(name + "2")
