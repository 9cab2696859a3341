"""memshare with joblib's real loky and multiprocessing backends: workers
write into a memshare array and the caller sees it, nothing goes into
joblib's temporary folder, large plain arrays go into shared memory once,
and ObjectRefs pass through joblib as it stands."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from joblib import Parallel, delayed
from joblib.externals.loky import get_reusable_executor
from support import START_METHODS

import memshare as ms
from memshare.integrations import joblib as ms_joblib

BACKENDS = [
    pytest.param("loky", {}, id="loky"),
    *(
        pytest.param(
            "multiprocessing", {"context": method}, id=f"multiprocessing-{method}"
        )
        for method in START_METHODS
    ),
]


@pytest.fixture(scope="module", autouse=True)
def _loky_workers_end() -> Iterator[None]:
    yield
    # loky keeps its workers for the next Parallel call: end them.
    get_reusable_executor(reuse=True).shutdown(wait=True, kill_workers=True)


@pytest.fixture
def temp_folder(tmp_path: Path) -> Path:
    return tmp_path / "joblib"


def dumped(folder: Path) -> list[str]:
    """What joblib wrote into its temporary folder."""
    return [str(p) for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def fill(a: np.ndarray[Any, Any], i: int, folder: Path) -> tuple[bool, list[str]]:
    a[i::4] = i + 1
    return ms.is_shared(a), dumped(folder)


@pytest.mark.parametrize(("backend", "options"), BACKENDS)
def test_workers_write_into_a_memshare_array(
    backend: str, options: dict[str, Any], temp_folder: Path
) -> None:
    a = ms.zeros(1 << 20)  # 8 MiB: joblib would dump it
    config = ms_joblib.parallel_config(
        backend, n_jobs=2, temp_folder=temp_folder, **options
    )
    with config:
        found = Parallel()(delayed(fill)(a, i, temp_folder) for i in range(4))
    assert found == [(True, [])] * 4  # shared, nothing dumped
    np.testing.assert_array_equal(a[:8], [1, 2, 3, 4] * 2)
    assert a.min() == 1
    assert dumped(temp_folder) == []


def test_the_memshare_backend_is_loky_with_memshares_reducers(
    temp_folder: Path,
) -> None:
    a = ms.zeros(1 << 20)
    found = Parallel(n_jobs=2, backend="memshare", temp_folder=temp_folder)(
        delayed(fill)(a, i, temp_folder) for i in range(4)
    )
    assert found == [(True, [])] * 4
    assert a.min() == 1


def test_stock_joblib_sends_a_memshare_array_as_a_read_only_file(
    temp_folder: Path,
) -> None:
    # What memshare's reducers fix: joblib's own dumps the array to a file.
    a = ms.zeros(1 << 20)
    with pytest.raises(ValueError, match="read-only"):
        Parallel(n_jobs=2)(delayed(fill)(a, i, temp_folder) for i in range(2))


def write_ref(ref: ms.ObjectRef, i: int) -> None:
    ref.get()["values"][i] = i + 1


@pytest.mark.parametrize(("backend", "options"), BACKENDS)
def test_an_object_ref_passes_through_joblib_as_it_stands(
    backend: str, options: dict[str, Any]
) -> None:
    ref = ms.put({"values": np.zeros(4)}, writable=True)
    Parallel(n_jobs=2, backend=backend, **options)(
        delayed(write_ref)(ref, i) for i in range(4)
    )
    np.testing.assert_array_equal(ref.get()["values"], [1, 2, 3, 4])


def where_it_lies(a: np.ndarray[Any, Any], folder: Path) -> tuple[Any, ...]:
    """Whether `a` is shared, writable, the inode of its memory, its sum, and
    what lies in joblib's folder, as a worker sees them."""
    inode = next((e.inode for e in ms.maps() if a.ctypes.data in e), None)
    return ms.is_shared(a), a.flags.writeable, inode, float(a.sum()), dumped(folder)


@pytest.mark.parametrize(("backend", "options"), BACKENDS)
def test_large_plain_arrays_go_into_shared_memory_once(
    backend: str, options: dict[str, Any], temp_folder: Path
) -> None:
    plain = np.ones(1 << 20)
    config = ms_joblib.parallel_config(
        backend, n_jobs=2, temp_folder=temp_folder, share_large=True, **options
    )
    with config:
        found = Parallel()(delayed(where_it_lies)(plain, temp_folder) for _ in range(6))
    shared, writable, inodes, sums, files = zip(*found, strict=True)
    assert all(shared)
    assert not any(writable)  # joblib's default mmap_mode="r"
    assert len(set(inodes)) == 1  # one copy for every task
    assert sums == (plain.size,) * 6
    assert files == ([],) * 6


def test_mmap_mode_r_plus_makes_the_shared_copy_writable(temp_folder: Path) -> None:
    plain = np.ones(1 << 20)
    with ms_joblib.parallel_config(n_jobs=2, mmap_mode="r+", share_large=True):
        found = Parallel()(delayed(where_it_lies)(plain, temp_folder) for _ in range(2))
    assert [(shared, writable) for shared, writable, *_ in found] == [(True, True)] * 2


@pytest.mark.parametrize(
    ("settings", "shared", "in_folder"),
    [
        # below max_nbytes: pickled, as joblib does
        ({"share_large": True}, False, False),
        ({"max_nbytes": None, "share_large": True}, False, False),  # "never memmap"
        ({"max_nbytes": "1K"}, False, True),  # by default, joblib's memmapping
    ],
    ids=["small", "max_nbytes=None", "share_large=False"],
)
def test_what_memshare_does_not_share_goes_as_joblib_sends_it(
    settings: dict[str, Any], shared: bool, in_folder: bool, temp_folder: Path
) -> None:
    small = np.ones(1000)
    config = ms_joblib.parallel_config(n_jobs=2, temp_folder=temp_folder, **settings)
    with config:
        found = Parallel()(delayed(where_it_lies)(small, temp_folder) for _ in range(2))
    for is_shared, _, _, total, files in found:
        assert is_shared == shared
        assert bool(files) == in_folder
        assert total == 1000


def make_shared(i: int) -> np.ndarray[Any, Any]:
    return ms.full(1 << 18, float(i))


@pytest.mark.parametrize(("backend", "options"), BACKENDS)
def test_shared_arrays_workers_return_arrive_by_handle(
    backend: str, options: dict[str, Any]
) -> None:
    with ms_joblib.parallel_config(backend, n_jobs=2, **options):
        results = Parallel()(delayed(make_shared)(i) for i in range(3))
    for i, result in enumerate(results):
        assert ms.is_shared(result)
        assert result.min() == result.max() == i


def test_only_the_parallel_calls_asked_get_memshares_reducers(
    temp_folder: Path,
) -> None:
    a = ms.zeros(1 << 20)
    with ms_joblib.parallel_config(n_jobs=2):
        Parallel()(delayed(fill)(a, i, temp_folder) for i in range(2))
    with pytest.raises(ValueError, match="read-only"):
        Parallel(n_jobs=2)(delayed(fill)(a, i, temp_folder) for i in range(2))
    with ms_joblib.parallel_config(n_jobs=2):  # and again: the workers reused
        Parallel()(delayed(fill)(a, i, temp_folder) for i in range(2))


def pid(_: int) -> int:
    time.sleep(0.05)  # long enough that each worker gets tasks
    return os.getpid()


def test_loky_reuses_its_workers_from_call_to_call() -> None:
    # So a Parallel call with memshare's reducers costs no worker start.
    with ms_joblib.parallel_config(n_jobs=2):
        first = set(Parallel()(delayed(pid)(i) for i in range(8)))
    with ms_joblib.parallel_config(n_jobs=2):
        second = set(Parallel()(delayed(pid)(i) for i in range(8)))
    assert second <= first


def gives_back_at_full_collections(_: int) -> bool:
    return ms_joblib._release_after_full_collections in gc.callbacks


def test_loky_workers_give_back_kept_memory_at_full_collections() -> None:
    # Or loky would take the shared memory they keep mapped for a leak.
    with ms_joblib.parallel_config(n_jobs=2):
        found = Parallel()(delayed(gives_back_at_full_collections)(i) for i in range(2))
    assert found == [True, True]
    assert not gives_back_at_full_collections(0)  # the caller: as it was
