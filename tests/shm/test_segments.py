"""What is in /dev/shm: segments(), segment(), clean_segments(), and the
ls, info, rm and clean commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import helper_of

import memshare as ms

TIMEOUT = 60


def memshare_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memshare", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


@pytest.fixture
def leftover(shm_name: str) -> Iterator[str]:
    """A tracked segment whose creator and reaper were both killed, as when a
    whole job is killed at once."""
    creator = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import memshare as ms, time\n"
                f"ms.SharedMemory({shm_name!r}, create=True, size=5000)\n"
                "print('created', flush=True)\n"
                "time.sleep(600)\n"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert creator.stdout is not None
    assert creator.stdout.readline().strip() == "created"
    os.kill(helper_of("memshare-reaper", creator.pid), signal.SIGKILL)
    creator.kill()
    creator.wait(TIMEOUT)
    creator.stdout.close()
    time.sleep(0.1)
    assert os.path.exists(f"/dev/shm/{shm_name}")
    return shm_name


def test_segments_lists_what_memshare_made(shm_name: str) -> None:
    shm = ms.SharedMemory(shm_name, create=True, size=5000, mode=0o640)
    found = {s.name: s for s in ms.segments()}[shm_name]
    assert found == ms.segment(shm_name)
    assert (found.size, found.mode, found.uid) == (5000, 0o640, os.getuid())
    assert found.memshare
    assert found.creator == os.getpid()
    assert found.creator_alive is True
    assert found.tracked is True
    assert os.getpid() in found.mapped_by
    assert 0 <= found.age < 60
    assert not found.leftover
    shm.close()
    assert os.getpid() not in ms.segment(shm_name).mapped_by


def test_segments_made_by_others_have_no_record(shm_name: str) -> None:
    fd = ms.shm_open(shm_name, os.O_CREAT | os.O_RDWR)
    os.ftruncate(fd, 100)
    os.close(fd)
    found = ms.segment(shm_name)
    assert (found.size, found.memshare, found.creator, found.tracked) == (
        100,
        False,
        None,
        None,
    )
    assert found.creator_alive is None
    assert not found.leftover
    with pytest.raises(FileNotFoundError):
        ms.segment(shm_name + "-missing")


def test_clean_removes_only_the_leftovers_of_dead_creators(
    leftover: str, tmp_path: Path
) -> None:
    found = ms.segment(leftover)
    assert (found.creator_alive, found.tracked, found.leftover) == (False, True, True)
    survivors = [f"{leftover}-untracked", f"{leftover}-foreign", f"{leftover}-alive"]
    untracked = (
        f"import memshare as ms; ms.SharedMemory({survivors[0]!r}, create=True, "
        "size=10, track=False)"
    )
    subprocess.run([sys.executable, "-c", untracked], check=True, timeout=TIMEOUT)
    os.close(ms.shm_open(survivors[1], os.O_CREAT | os.O_RDWR))
    alive = ms.SharedMemory(survivors[2], create=True, size=10)
    try:
        attached = ms.SharedMemory(leftover)  # mapped: not a leftover while so
        assert ms.clean_segments(dry_run=True) == []
        attached.close()
        assert [s.name for s in ms.clean_segments(dry_run=True)] == [leftover]
        assert os.path.exists(f"/dev/shm/{leftover}")
        assert [s.name for s in ms.clean_segments()] == [leftover]
        assert not os.path.exists(f"/dev/shm/{leftover}")
        assert all(os.path.exists(f"/dev/shm/{name}") for name in survivors)
    finally:
        alive.close()
        for name in survivors:
            ms.shm_unlink(name)


def test_ls_and_info(shm_name: str) -> None:
    shm = ms.SharedMemory(shm_name, create=True, size=5000)
    listing = memshare_command("ls")
    assert listing.returncode == 0, listing.stderr
    header, *rows = listing.stdout.splitlines()
    assert header.split() == [
        "NAME",
        "SIZE",
        "OWNER",
        "MODE",
        "AGE",
        "MAPPED",
        "BY",
        "CREATOR",
    ]
    row = next(r for r in rows if r.startswith(shm_name + " "))
    assert "4.9 KiB" in row
    assert "rw-------" in row
    assert f"{os.getpid()} (alive)" in row
    entries = json.loads(memshare_command("ls", "--json").stdout)
    entry = next(e for e in entries if e["name"] == shm_name)
    assert entry["size"] == 5000
    assert entry["mapped_by"] == [os.getpid()]
    info = memshare_command("info", shm_name)
    assert "size              5000 bytes (4.9 KiB)" in info.stdout
    assert "made by memshare  yes" in info.stdout
    assert json.loads(memshare_command("info", shm_name, "--json").stdout)["tracked"]
    shm.close()


def test_rm_removes_and_says_what_it_cannot(shm_name: str) -> None:
    shm = ms.SharedMemory(shm_name, create=True, size=10)
    shm.close()
    removed = memshare_command("rm", shm_name, shm_name + "-missing", "bad/name")
    assert removed.returncode == 1
    assert not os.path.exists(f"/dev/shm/{shm_name}")
    assert f"{shm_name}-missing: [Errno 2] shm_unlink" in removed.stderr
    assert "bad/name: invalid shared memory name" in removed.stderr
    missing = memshare_command("info", shm_name)
    assert missing.returncode == 1
    assert "No such file or directory" in missing.stderr


def test_clean_command(leftover: str) -> None:
    dry = memshare_command("clean", "--dry-run")
    assert f"would remove {leftover}" in dry.stdout
    assert os.path.exists(f"/dev/shm/{leftover}")
    listed = json.loads(memshare_command("clean", "--dry-run", "--json").stdout)
    assert [entry["name"] for entry in listed] == [leftover]
    assert listed[0]["leftover"]
    done = memshare_command("clean")
    assert f"removed {leftover}" in done.stdout
    assert not os.path.exists(f"/dev/shm/{leftover}")
    assert "no leftovers" in memshare_command("clean").stdout
