"""Fixtures for the whole suite, and the check that it leaves /dev/shm and the
temp directory as it found them."""

from __future__ import annotations

import contextlib
import fnmatch
import gc
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from multiprocessing.util import Finalize
from pathlib import Path

import pytest
from hypothesis import settings

import memshare as ms

# Every fuzz test runs the same examples on every run (and machine): a
# failure found once is found again, and CI does not fail by chance.
settings.register_profile("memshare", derandomize=True, deadline=None)
settings.load_profile("memshare")

SHM = Path("/dev/shm")
# What the suite puts in /dev/shm: memshare's random names, the tests' own
# names, the standard library's random names (the compatibility tests) and
# the POSIX semaphores of those.  Other programs' files are not looked at.
SUITE_SEGMENTS = ("ms_*", "memshare-*", "psm_*", "sem.ms_*", "sem.memshare-*")
# multiprocessing removes its own pymp-* directory when the interpreter exits.
REMOVED_AT_EXIT = ("pymp-*",)


def _entries(directory: Path, patterns: tuple[str, ...] = ("*",)) -> set[str]:
    names = os.listdir(directory) if directory.is_dir() else []
    return {n for n in names if any(fnmatch.fnmatch(n, p) for p in patterns)}


def pytest_configure(config: pytest.Config) -> None:
    # A temp directory of the suite's own, for it and every process it
    # starts (TMPDIR is inherited), removed when the session ends: what is
    # left in it was left by the suite, and other programs' files in /tmp
    # are none of its business.
    private = tempfile.mkdtemp(prefix="memshare-pytest-")
    os.environ["TMPDIR"] = tempfile.tempdir = private
    # Removed at exit after multiprocessing removes its pymp-* directory in
    # it (at exit priority -100).
    Finalize(None, shutil.rmtree, (private, True), exitpriority=-200)
    if config.option.basetemp is None:
        # tmp_path inside it, instead of pytest's pytest-of-<user>, which it
        # keeps between runs.
        config.option.basetemp = os.path.join(private, "tmp_path")


@pytest.fixture(scope="session", autouse=True)
def _leaves_no_trace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fail the session if it leaves files in /dev/shm or the temp directory."""
    tmp = Path(tempfile.gettempdir())
    basetemp = tmp_path_factory.getbasetemp()
    shm_before = _entries(SHM, SUITE_SEGMENTS)
    yield
    shutil.rmtree(basetemp, ignore_errors=True)
    left = sorted(
        str(tmp / name)
        for name in _entries(tmp) - {basetemp.name}
        if not any(fnmatch.fnmatch(name, pattern) for pattern in REMOVED_AT_EXIT)
    )
    left += sorted(str(SHM / n) for n in _entries(SHM, SUITE_SEGMENTS) - shm_before)
    assert not left, f"the test suite left these behind: {left}"


def pytest_collection_finish(session: pytest.Session) -> None:
    # What import and collection made lives as long as the session: frozen,
    # it is not walked again by the collection after every test (below),
    # which then costs well under a millisecond instead of some 30.
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _cycles_collected() -> Iterator[None]:
    """What a test left in reference cycles goes when it ends.

    A multiprocessing.Pool task that raised leaves one (its AsyncResult holds
    the exception, whose traceback holds the AsyncResult and so the Pool and
    its semaphores).  Left to the collector, it may run inside the resource
    tracker's lock while a later test starts a process; the semaphores'
    finalizers then call the tracker again, CPython 3.12 warns "called
    reentrantly" and pytest fails that later, innocent test."""
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def _nothing_kept_for_reuse() -> None:
    """Each test starts with no array memory kept for reuse by earlier ones
    (it holds a descriptor each, which tests that count them would see)."""
    ms.release_unused()


@pytest.fixture
def shm_name() -> Iterator[str]:
    """A name no segment has, unlinked after the test whatever happened."""
    name = f"memshare-test-{os.getpid()}-{secrets.token_hex(4)}"
    yield name
    with contextlib.suppress(FileNotFoundError):
        ms.shm_unlink(name)
