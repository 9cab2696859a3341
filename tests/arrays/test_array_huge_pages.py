"""Shared arrays take huge pages from the pool the administrator reserved,
when there are enough free and rounding up wastes little; else ordinary
pages, never an error."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support import smaps_entry, wait_for

import memshare as ms

POOL = Path("/proc/sys/vm/nr_hugepages")
RESERVED = 12
MIB = 1 << 20


def free_huge_pages() -> int:
    """Pages of the pool that a new mapping can still get."""
    return ms.info().free_huge_pages[ms.default_huge_page_size()]


def page_kib(array: np.ndarray[Any, Any]) -> int:
    return smaps_entry(array.ctypes.data)["KernelPageSize"]


@pytest.fixture
def huge_page_pool() -> Iterator[None]:
    """Twelve more huge pages in the pool for the test, as root may reserve;
    the pool as it was afterwards."""
    if ms.default_huge_page_size() != 2 * MIB:
        pytest.skip("the default huge page size here is not 2 MiB")
    before = int(POOL.read_text())
    try:
        POOL.write_text(str(before + RESERVED))
    except OSError as error:
        pytest.skip(f"this user cannot reserve huge pages: {error}")
    try:
        # (A courier may hold an earlier test's pages for a moment.)
        if not wait_for(lambda: free_huge_pages() >= 9):  # for a 16 MiB array
            pytest.skip("the kernel found no memory for the huge pages asked for")
        yield
    finally:
        ms.release_unused()  # recycled huge pages go back to the pool
        POOL.write_text(str(before))


@pytest.mark.usefixtures("huge_page_pool")
def test_a_large_array_takes_huge_pages_and_gives_them_back() -> None:
    free = free_huge_pages()
    a = ms.zeros(16 * MIB // 8)
    assert page_kib(a) == 2048
    assert free_huge_pages() == free - 9  # 16 MiB of data and the lease page
    assert not a.any()
    a[:] = 7.0
    address = a.ctypes.data
    del a
    b = ms.zeros(16 * MIB // 8)  # recycled, and cleared
    assert b.ctypes.data == address
    assert not b.any()
    del b
    ms.release_unused()
    assert free_huge_pages() == free


def total_and_page_kib(array: np.ndarray[Any, Any]) -> tuple[float, int]:
    return float(array.sum()), page_kib(array)


@pytest.mark.usefixtures("huge_page_pool")
def test_a_worker_maps_the_same_huge_pages() -> None:
    a = ms.ones(16 * MIB // 8)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply(total_and_page_kib, (a,)) == (a.size, 2048)


@pytest.mark.usefixtures("huge_page_pool")
def test_ordinary_pages_serve_where_huge_ones_would_waste_or_run_out() -> None:
    assert page_kib(ms.zeros(4 * MIB // 8)) == 4  # would take 6 MiB
    held = []
    while free_huge_pages() >= 9:
        held.append(ms.zeros(16 * MIB // 8))
    more = ms.zeros(16 * MIB // 8)  # the pool is short: no error
    assert page_kib(more) == 4
    assert all(page_kib(a) == 2048 for a in held)
