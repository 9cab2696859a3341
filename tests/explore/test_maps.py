"""memshare.maps(): /proc/PID/smaps parsed, checked against mappings made
here, of each of the four kinds, and against other processes."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support import wait_for

import memshare as ms

TIMEOUT = 60
PAGE = ms.PAGESIZE


def entry_of(address: int, pid: int | None = None) -> ms.MapEntry:
    found = [entry for entry in ms.maps(pid) if address in entry]
    assert len(found) == 1, f"{address:#x} is in {len(found)} mappings"
    return found[0]


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.write_bytes(b"\1" * 4 * PAGE)
    return path


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda f: ms.map_anonymous(4 * PAGE, shared=False), "private anonymous"),
        (lambda f: ms.map_anonymous(4 * PAGE, shared=True), "shared anonymous"),
        (lambda f: ms.map_file(f, mode="c"), "private file"),
        (lambda f: ms.map_file(f, mode="r+"), "shared file"),
    ],
    ids=["private anonymous", "shared anonymous", "private file", "shared file"],
)
def test_each_of_the_four_kinds_is_told_apart(
    make: Any, kind: str, data_file: Path
) -> None:
    mapping = make(data_file)
    entry = entry_of(mapping.address)
    assert entry.kind == kind
    assert entry.shared == kind.startswith("shared")
    assert entry.start <= mapping.address
    assert entry.end >= mapping.address + len(mapping)
    assert entry.perms.startswith("rw")
    if kind.endswith("file"):
        assert entry.path == str(data_file)
        assert entry.inode == data_file.stat().st_ino
    mapping.close()


def test_a_shared_array_is_a_shared_memfd() -> None:
    array = ms.zeros(4 * PAGE // 8)
    entry = entry_of(array.ctypes.data)
    assert entry.kind == "shared file"
    assert entry.path.startswith("/memfd:memshare")


def test_the_heap_stack_and_kernel_pages_are_named() -> None:
    kinds = {entry.kind for entry in ms.maps()}
    assert {"stack", "vdso"} <= kinds
    assert all(entry.size > 0 and entry.size % PAGE == 0 for entry in ms.maps())


def test_resident_sizes_follow_the_pages_touched() -> None:
    # Inaccessible pages at both ends keep the kernel from merging the
    # middle with a neighbouring anonymous mapping into one entry.
    mapping = ms.map_anonymous(18 * PAGE, shared=False)
    mapping.protect(ms.PROT_NONE, 0, PAGE)
    mapping.protect(ms.PROT_NONE, 17 * PAGE, PAGE)
    middle = mapping.address + PAGE
    assert entry_of(middle).size == 16 * PAGE
    assert entry_of(middle).rss == 0
    mapping[PAGE : 6 * PAGE] = b"\1" * (5 * PAGE)
    entry = entry_of(middle)
    assert entry.rss == 5 * PAGE
    assert entry.private_dirty == 5 * PAGE
    assert entry.pss == 5 * PAGE  # nobody else maps it
    mapping.close()


def touch_and_wait(mapping: Any, ready: Any, done: Any) -> None:
    # Shared pages come into a forked child's page tables when it touches them.
    assert np.frombuffer(mapping, np.uint8)[::PAGE].sum() == len(mapping) // PAGE
    ready.set()
    done.wait(TIMEOUT)


def test_pss_splits_pages_two_processes_share() -> None:
    ctx = multiprocessing.get_context("fork")
    mapping = ms.map_anonymous(8 * PAGE, shared=True)
    np.frombuffer(mapping, np.uint8)[:] = 1  # all eight pages resident
    ready, done = ctx.Event(), ctx.Event()
    child = ctx.Process(target=touch_and_wait, args=(mapping, ready, done))
    child.start()
    try:
        assert ready.wait(TIMEOUT)
        mine = entry_of(mapping.address)
        theirs = entry_of(mapping.address, child.pid)
        assert mine.rss == theirs.rss == 8 * PAGE
        assert mine.pss == theirs.pss == 4 * PAGE  # half each
        assert theirs.kind == "shared anonymous"
    finally:
        done.set()
        child.join(TIMEOUT)


def test_a_process_that_is_gone_is_not_found() -> None:
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=os.getpid)
    child.start()
    child.join(TIMEOUT)
    with pytest.raises(FileNotFoundError):
        ms.maps(child.pid)


def hold(array: Any, ready: Any, done: Any) -> None:
    assert float(array.sum()) == array.size  # every page in this process too
    ready.fetch_add(1)
    done.wait(TIMEOUT)


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_the_memory_report_counts_an_array_shared_by_workers_once(method: str) -> None:
    ctx = multiprocessing.get_context(method)
    size, workers = 64 << 20, 4
    array = ms.ones(size // 8)
    ready, done = ms.AtomicInt(), ms.Event()
    processes = [
        ctx.Process(target=hold, args=(array, ready, done)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        assert wait_for(lambda: ready.load() == workers, timeout=TIMEOUT)
        report = ms.memory_report()
        pids = {process.pid for process in processes}
        assert pids <= {member.pid for member in report.processes}
        # RSS counts the array once per process, PSS once in all.
        assert report.rss - report.pss > workers * size * 0.9
        # Each process is charged a fifth of it, in the entry of its memfd.
        inode = entry_of(array.ctypes.data).inode
        shares = [
            sum(e.pss for e in ms.maps(pid) if e.inode == inode)
            for pid in [os.getpid(), *pids]
        ]
        assert sum(shares) == pytest.approx(size, rel=0.01)
        assert all(
            share == pytest.approx(size / (workers + 1), rel=0.05) for share in shares
        )
        assert str(report).splitlines()[-1].split()[0] == "all"
    finally:
        done.set()
        for process in processes:
            process.join(TIMEOUT)
