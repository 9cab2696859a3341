"""Calls that can block let other Python threads run: they release the GIL,
while pinning the mapping so no other thread can unmap it meanwhile."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import in_child

import memshare as ms

BIG = 256 << 20


@pytest.fixture
def no_forced_switches() -> Iterator[None]:
    # With a switch interval this long, a thread gives the GIL up only when
    # it blocks or releases it; so another thread can run during a call only
    # if the call released it.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(100)
    yield
    sys.setswitchinterval(interval)


def others_ran_during(call: Callable[[], object]) -> bool:
    ran = threading.Event()
    result: list[bool] = []

    def worker() -> None:
        call()
        result.append(ran.is_set())

    thread = threading.Thread(target=worker)
    thread.start()  # returns once the worker gives up the GIL
    ran.set()
    thread.join()
    return result[0]


@pytest.fixture(scope="module")
def big() -> Iterator[ms.Mapping]:
    m = ms.map_anonymous(BIG, shared=False, populate=True)
    yield m
    m.close()


@pytest.mark.usefixtures("no_forced_switches")
@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.find(b"needle"),
        lambda m: m.rfind(b"needle"),
        lambda m: m[:],
        lambda m: (m.seek(0), m.read())[1],
        lambda m: m.__setitem__(slice(0, BIG), bytes(BIG)),
    ],
    ids=["find", "rfind", "slice", "read", "assign"],
)
def test_large_copies_and_searches_release_the_gil(
    call: Callable[[ms.Mapping], object], big: ms.Mapping
) -> None:
    assert others_ran_during(lambda: call(big))


@pytest.mark.usefixtures("no_forced_switches")
def test_faulting_pages_in_releases_the_gil() -> None:
    for call in (
        lambda m: m.populate(write=True),
        lambda m: m.lock(),
        lambda m: m.advise(ms.MADV_POPULATE_READ),
    ):
        m = ms.map_anonymous(BIG, shared=False)
        assert others_ran_during(lambda m=m, call=call: call(m))
        m.close()


@pytest.mark.usefixtures("no_forced_switches")
def test_msync_releases_the_gil(tmp_path: Path) -> None:
    m = ms.map_file(tmp_path / "data", 64 << 20, mode="w+")
    m[:] = b"x" * len(m)
    assert others_ran_during(m.sync)
    m.close()


@pytest.mark.usefixtures("no_forced_switches")
def test_mincore_releases_the_gil() -> None:
    m = ms.map_anonymous(16 << 30, shared=False, noreserve=True)
    assert others_ran_during(m.residency)
    m.close()


@pytest.mark.usefixtures("no_forced_switches")
def test_small_calls_keep_the_gil() -> None:
    m = ms.map_anonymous(4096)
    assert not others_ran_during(lambda: m.find(b"x"))


@pytest.mark.usefixtures("no_forced_switches")
def test_closing_releases_the_gil(tmp_path: Path) -> None:
    m = ms.map_anonymous(BIG, shared=False, populate=True)
    assert others_ran_during(m.close)


def test_a_call_in_flight_keeps_the_mapping_mapped() -> None:
    def race() -> tuple[list[str], bool]:
        m = ms.map_anonymous(BIG, shared=False, populate=True)
        started = threading.Event()

        def search() -> None:
            started.set()
            try:
                for _ in range(20):
                    m.find(b"needle")
            except ValueError:  # closed between two searches
                pass

        thread = threading.Thread(target=search)
        thread.start()
        started.wait()
        refusals = []
        while not m.closed:
            try:
                m.close()
            except BufferError as error:  # a search still reads the memory
                refusals.append(str(error))
        thread.join()
        return refusals, m.closed

    # Unmapping under a running search would fault; run it where a fault
    # fails this test alone.
    refusals, closed = in_child(race)
    assert refusals
    assert all("exported pointers" in refusal for refusal in refusals)
    assert closed
