"""A process that received a shared array keeps its segment mapped for a
moment after the last array of it goes, then lets it go: the next task of a
Pool over the same array finds it mapped, and memory that everyone else let
go of is freed soon after."""

from __future__ import annotations

import gc
import multiprocessing
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support import START_METHODS, in_child, maps_line, shmem_kib, wait_for

import memshare as ms
from memshare import _core

PLACES = 8  # parking_places in arrays/parked_segments.hpp


def parked() -> int:
    return int(_core.kept_segments()["parked"])


def parked_while_holding(array: np.ndarray[Any, Any]) -> tuple[int, float, int]:
    # The worker's own mapping of the array, and what it has parked meanwhile.
    return parked(), float(array[-1]), os.getpid()


def memfd_mappings(pid: int) -> int:
    text = Path(f"/proc/{pid}/maps").read_text()
    # Arrays' memory only, not the courier's ledger ("memshare-courier-ledger").
    return sum(line.endswith("/memfd:memshare (deleted)") for line in text.splitlines())


@pytest.mark.parametrize("method", START_METHODS)
def test_a_worker_maps_a_segment_once_across_tasks(method: str) -> None:
    with multiprocessing.get_context(method).Pool(1) as pool:
        worker = pool.apply(os.getpid)
        before = memfd_mappings(worker)  # a forked worker inherits some
        array = ms.full(1 << 16, 3.0)  # made after the fork: sent, not inherited
        assert pool.apply(parked) == 0
        assert pool.apply(parked_while_holding, (array[10:],)) == (0, 3.0, worker)
        # Its last array gone with the task, the segment waits, still mapped.
        assert pool.apply(parked) == 1
        assert memfd_mappings(worker) == before + 1
        # The next task takes it back (nothing parked while it holds it) and
        # sees what the parent wrote since.
        array[-1] = 4.0
        assert pool.apply(parked_while_holding, (array[::3],)) == (0, 4.0, worker)
        # A moment later the worker has let go of it.
        assert wait_for(lambda: pool.apply(parked) == 0, timeout=10)
        assert memfd_mappings(worker) == before


def touch_all(array: np.ndarray[Any, Any]) -> float:
    return float(array.sum())


def test_memory_everyone_let_go_of_is_freed_once_its_parking_ends() -> None:
    size = 128 << 20
    baseline = shmem_kib()
    array = ms.ones(size // 8)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply(touch_all, (array,)) == size // 8
        worker = pool.apply(os.getpid)
        del array  # the parent lets go; the worker has it parked
        ms.release_unused()  # and the parent keeps nothing for reuse
        assert memfd_mappings(worker) == 1
        gone = wait_for(lambda: shmem_kib() - baseline < (size >> 10) * 0.1, timeout=10)
        assert gone, "parked memory was not let go of"
        assert memfd_mappings(worker) == 0
        assert pool.apply(parked) == 0


def receive_all(arrays: list[np.ndarray[Any, Any]]) -> int:
    return len(arrays)


def test_at_most_a_few_segments_wait() -> None:
    arrays = [ms.full(8, float(i)) for i in range(PLACES + 4)]
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply(receive_all, (arrays,)) == len(arrays)
        assert pool.apply(parked) == PLACES  # the oldest were unmapped at once
        assert memfd_mappings(pool.apply(os.getpid)) == PLACES


def make_array() -> np.ndarray[Any, Any]:
    return ms.full(1024, 7.0)


def test_a_forked_child_does_not_keep_what_its_parent_parked() -> None:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        result = pool.apply(make_array)  # comes back by handle
    address = result.ctypes.data
    assert float(result[0]) == 7.0
    del result
    assert parked() >= 1
    assert "/memfd:memshare" in maps_line(address)  # still mapped here

    def unmapped() -> bool:
        try:
            maps_line(address)
        except LookupError:
            return True
        return False

    assert in_child(parked) == 0
    assert in_child(unmapped)
    assert wait_for(unmapped)


def protect_and_drop(array: np.ndarray[Any, Any]) -> int:
    mapping = array.base  # the worker's mapping of the segment
    del array
    mapping.protect(ms.PROT_READ)
    del mapping  # not parked: the next receiver expects read-write pages
    return parked()


def write_last(array: np.ndarray[Any, Any]) -> int:
    array[-1] = 9.0
    return parked()


def test_a_mapping_whose_protection_changed_is_not_parked() -> None:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        array = ms.zeros(1024)
        assert pool.apply(protect_and_drop, (array,)) == 0
        assert pool.apply(write_last, (array,)) == 0
        assert float(array[-1]) == 9.0


def protect_then(conn: Any, ending: str) -> None:
    array = conn.recv()  # received, under fork too
    mapping = array.base
    del array
    mapping.protect(ms.PROT_READ)
    if ending == "close":
        mapping.close()
    del mapping  # the lease goes back: its page must still take the write
    gc.collect()


@pytest.mark.parametrize("ending", ["drop", "close"])
# Not fork: a forked child holds the sender's own arrays of the segment too,
# whose writable buffers protect() rightly refuses to take away.
@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_received_mapping_protected_then_dropped_or_closed_lives(
    method: str, ending: str
) -> None:
    array = ms.zeros(1024)
    context = multiprocessing.get_context(method)
    ours, theirs = context.Pipe()
    child = context.Process(target=protect_then, args=(theirs, ending))
    child.start()
    ours.send(array)
    child.join(60)
    assert child.exitcode == 0  # it died of SIGSEGV writing the lease page
