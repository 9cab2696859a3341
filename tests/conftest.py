"""Fixtures for the whole suite, and the check that it leaves /dev/shm and the
temp directory as it found them."""

from __future__ import annotations

import contextlib
import fnmatch
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import memshare as ms

SHM = Path("/dev/shm")
# multiprocessing removes its own pymp-* directory when the interpreter exits.
REMOVED_AT_EXIT = ("pymp-*",)


def _entries(directory: Path) -> set[str]:
    return set(os.listdir(directory)) if directory.is_dir() else set()


def pytest_configure(config: pytest.Config) -> None:
    if config.option.basetemp is None:
        # A directory of our own for tmp_path, removed when the session ends,
        # instead of pytest's pytest-of-<user>, which it keeps between runs.
        config.option.basetemp = tempfile.mkdtemp(prefix="memshare-pytest-")


@pytest.fixture(scope="session", autouse=True)
def _leaves_no_trace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fail the session if it leaves files in /dev/shm or the temp directory."""
    tmp = Path(tempfile.gettempdir())
    basetemp = tmp_path_factory.getbasetemp()
    tmp_before = _entries(tmp) | {basetemp.name}
    shm_before = _entries(SHM)
    yield
    shutil.rmtree(basetemp, ignore_errors=True)
    left = sorted(
        str(tmp / name)
        for name in _entries(tmp) - tmp_before
        if not any(fnmatch.fnmatch(name, pattern) for pattern in REMOVED_AT_EXIT)
    )
    left += sorted(str(SHM / name) for name in _entries(SHM) - shm_before)
    assert not left, f"the test suite left these behind: {left}"


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
