"""memshare.SharedMemory across real processes: started by multiprocessing
(spawn, forkserver, and fork where it matters) and unrelated ones started
with subprocess."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

import pytest
from support import START_METHODS, in_child, wait_for

import memshare as ms

TIMEOUT = 60
SPAWNED = ["spawn", "forkserver"]


def exists(name: str) -> bool:
    return Path(f"/dev/shm/{name}").exists()


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


# -- children ---------------------------------------------------------------------------


def attach_write_and_leave(name: str) -> None:
    shm = ms.SharedMemory(name)
    shm.buf[:5] = b"child"
    shm.close()


def create_and_wait(name: str, track: bool, conn: Connection) -> None:
    ms.SharedMemory(name, create=True, size=4096, track=track)
    conn.send("created")
    conn.recv()  # never comes: the parent kills us


def follow_resizes(name: str, conn: Connection) -> None:
    shm = ms.SharedMemory(name)
    conn.send(shm.size)
    conn.recv()  # the parent has resized
    conn.send((shm.size, len(shm.buf), shm.buf[60_000], bytes(shm.buf[:3])))


def attach_readonly(name: str, conn: Connection) -> None:
    shm = ms.SharedMemory(name, readonly=True)
    try:
        shm.buf[0] = 1
        refused = ""
    except TypeError as error:
        refused = str(error)
    conn.send((shm.buf.readonly, refused, bytes(shm.buf[:4])))


def exchange(shm: ms.SharedMemory, conn: Connection) -> None:
    """Write, and report what the other side wrote (sent to us pickled)."""
    conn.recv()
    shm.buf[8:12] = b"pong"
    conn.send(bytes(shm.buf[:4]))


def start(
    method: str, target: Callable[..., None], *args: object
) -> multiprocessing.Process:
    process = multiprocessing.get_context(method).Process(target=target, args=args)
    process.start()
    return process  # type: ignore[return-value]


# -- attaching never removes -------------------------------------------------------------


@pytest.mark.parametrize("method", START_METHODS)
def test_an_attacher_that_exits_leaves_the_block(shm_name: str, method: str) -> None:
    shm = ms.SharedMemory(shm_name, create=True, size=4096)
    child = start(method, attach_write_and_leave, shm_name)
    child.join(TIMEOUT)
    assert child.exitcode == 0
    assert exists(shm_name)
    assert bytes(shm.buf[:5]) == b"child"
    shm.close()


def test_an_unrelated_attacher_that_exits_leaves_the_block(shm_name: str) -> None:
    shm = ms.SharedMemory(shm_name, create=True, size=4096)
    result = run_python(
        "import memshare as ms\n"
        f"s = ms.SharedMemory({shm_name!r})\n"
        "s.buf[:5] = b'other'\n"
    )
    assert result.returncode == 0, result.stderr
    assert exists(shm_name)
    assert bytes(shm.buf[:5]) == b"other"
    assert result.stderr == ""  # and no warning about "leaked" memory
    shm.close()


@pytest.mark.parametrize("method", SPAWNED)
def test_an_attacher_killed_leaves_the_block(shm_name: str, method: str) -> None:
    shm = ms.SharedMemory(shm_name, create=True, size=4096)
    parent_end, child_end = multiprocessing.Pipe()
    child = start(method, follow_resizes, shm_name, child_end)
    assert parent_end.poll(TIMEOUT)
    parent_end.recv()
    os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
    child.join(TIMEOUT)
    assert exists(shm_name)
    shm.close()


# -- the creator's end removes it, and nothing else ----------------------------------------


@pytest.mark.parametrize("method", START_METHODS)
def test_a_killed_creator_takes_its_blocks_along(shm_name: str, method: str) -> None:
    parent_end, child_end = multiprocessing.Pipe()
    creator = start(method, create_and_wait, shm_name, True, child_end)
    assert parent_end.poll(TIMEOUT)
    assert parent_end.recv() == "created"
    time.sleep(0.2)
    assert exists(shm_name)  # never while the creator lives
    os.kill(creator.pid, signal.SIGKILL)  # type: ignore[arg-type]
    creator.join(TIMEOUT)
    assert wait_for(lambda: not exists(shm_name)), "the killed creator's block stayed"


def test_an_unrelated_creator_killed_takes_its_blocks_along(shm_name: str) -> None:
    creator = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import memshare as ms, sys, time\n"
                f"ms.SharedMemory({shm_name!r}, create=True, size=4096)\n"
                "print('created', flush=True)\n"
                "time.sleep(600)\n"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert creator.stdout is not None
    assert creator.stdout.readline().strip() == "created"
    # The whole process group, as a terminal or a job scheduler would kill it.
    os.killpg(creator.pid, signal.SIGKILL)
    creator.wait(TIMEOUT)
    creator.stdout.close()
    assert wait_for(lambda: not exists(shm_name))


def test_a_creator_that_exits_takes_its_blocks_along(shm_name: str) -> None:
    result = run_python(
        "import memshare as ms\n"
        f"ms.SharedMemory({shm_name!r}, create=True, size=4096)\n"
        "raise SystemExit(3)\n"
    )
    assert result.returncode == 3
    assert wait_for(lambda: not exists(shm_name))


def test_an_untracked_block_outlives_its_creator(shm_name: str) -> None:
    parent_end, child_end = multiprocessing.Pipe()
    creator = start("spawn", create_and_wait, shm_name, False, child_end)
    assert parent_end.poll(TIMEOUT)
    parent_end.recv()
    os.kill(creator.pid, signal.SIGKILL)  # type: ignore[arg-type]
    creator.join(TIMEOUT)
    time.sleep(0.2)
    assert exists(shm_name)
    ms.shm_unlink(shm_name)


def test_a_forked_child_of_the_creator_does_not_take_the_blocks(shm_name: str) -> None:
    shm = ms.SharedMemory(shm_name, create=True, size=4096)
    child = start("fork", attach_write_and_leave, shm_name)
    child.join(TIMEOUT)
    assert child.exitcode == 0
    time.sleep(0.2)
    assert exists(shm_name)
    shm.close()


def test_unlink_by_the_creator_stops_the_tracking(shm_name: str) -> None:
    result = run_python(
        "import memshare as ms, os\n"
        f"s = ms.SharedMemory({shm_name!r}, create=True, size=4096)\n"
        "s.unlink()\n"
        f"fd = ms.shm_open({shm_name!r}, os.O_CREAT | os.O_RDWR)\n"  # a new one
    )
    assert result.returncode == 0, result.stderr
    time.sleep(0.2)
    assert exists(shm_name), "the reaper removed a block it did not track"
    ms.shm_unlink(shm_name)


# -- what attached processes see ------------------------------------------------------------


@pytest.mark.parametrize("method", SPAWNED)
def test_a_resize_is_seen_by_an_attached_process(shm_name: str, method: str) -> None:
    shm = ms.SharedMemory(shm_name, create=True, size=4096)
    shm.buf[:3] = b"abc"
    parent_end, child_end = multiprocessing.Pipe()
    child = start(method, follow_resizes, shm_name, child_end)
    assert parent_end.poll(TIMEOUT)
    assert parent_end.recv() == 4096
    shm.resize(64_000)
    shm.buf[60_000] = 7
    parent_end.send("resized")
    assert parent_end.poll(TIMEOUT)
    assert parent_end.recv() == (64_000, 64_000, 7, b"abc")
    child.join(TIMEOUT)
    assert os.stat(f"/dev/shm/{shm_name}").st_size == 64_000
    shm.close()


@pytest.mark.parametrize("method", SPAWNED)
def test_a_readonly_attach_exports_a_read_only_buffer(
    shm_name: str, method: str
) -> None:
    shm = ms.SharedMemory(shm_name, create=True, size=4096)
    shm.buf[:4] = b"data"
    parent_end, child_end = multiprocessing.Pipe()
    child = start(method, attach_readonly, shm_name, child_end)
    assert parent_end.poll(TIMEOUT)
    readonly, refused, seen = parent_end.recv()
    assert readonly
    assert "read-only" in refused
    assert seen == b"data"
    child.join(TIMEOUT)
    shm.close()


@pytest.mark.parametrize("method", START_METHODS)
def test_two_processes_see_each_others_writes(shm_name: str, method: str) -> None:
    shm = ms.SharedMemory(shm_name, create=True, size=4096)
    parent_end, child_end = multiprocessing.Pipe()
    child = start(method, exchange, shm, child_end)  # the block travels pickled
    shm.buf[:4] = b"ping"
    parent_end.send("go")
    assert parent_end.poll(TIMEOUT)
    assert parent_end.recv() == b"ping"
    child.join(TIMEOUT)
    assert bytes(shm.buf[8:12]) == b"pong"
    shm.close()


# -- reservation, resize, permissions --------------------------------------------------------


def shm_capacity() -> int:
    fs = os.statvfs("/dev/shm")
    return fs.f_blocks * fs.f_frsize


def test_a_full_dev_shm_fails_at_creation(shm_name: str) -> None:
    too_big = shm_capacity() + (1 << 30)
    with pytest.raises(OSError, match="free of") as error:
        ms.SharedMemory(shm_name, create=True, size=too_big)
    assert error.value.errno == 28  # ENOSPC, not a SIGBUS on first touch
    assert "fallocate" in str(error.value)
    assert not exists(shm_name)  # the half-made block is gone again


def test_a_reserved_block_holds_its_memory(shm_name: str) -> None:
    shm = ms.SharedMemory(shm_name, create=True, size=1 << 20)
    assert os.stat(f"/dev/shm/{shm_name}").st_blocks * 512 >= 1 << 20
    shm.resize(4 << 20)
    assert os.stat(f"/dev/shm/{shm_name}").st_blocks * 512 >= 4 << 20
    shm.close()


def test_a_sparse_block_holds_nothing_until_written(shm_name: str) -> None:
    sparse = ms.SharedMemory(
        shm_name, create=True, size=2 * shm_capacity(), reserve=False
    )
    assert sparse.size == 2 * shm_capacity()
    assert os.stat(f"/dev/shm/{shm_name}").st_blocks == 0
    sparse.buf[0] = 1
    assert os.stat(f"/dev/shm/{shm_name}").st_blocks > 0
    sparse.close()


def test_resize_refuses_what_would_fault(shm_name: str) -> None:
    shm = ms.SharedMemory(shm_name, create=True, size=8192)
    sliced = shm.buf[4096:]
    with pytest.raises(BufferError, match="slices"):
        shm.resize(4096)
    sliced.release()
    exported = memoryview(shm.mapping)
    with pytest.raises(BufferError, match="views"):
        shm.resize(4096)
    exported.release()
    saved = shm.buf
    shm.resize(4096)
    assert shm.size == 4096
    with pytest.raises(ValueError, match="released"):
        saved[4095]  # released by the shrink: an error, not a fault
    assert shm.buf[4095] == 0
    with pytest.raises(ValueError, match="positive"):
        shm.resize(0)
    readonly = ms.SharedMemory(shm_name, readonly=True)
    with pytest.raises(TypeError, match="readonly"):
        readonly.resize(10)
    for each in (readonly, shm):
        each.close()


def test_an_old_view_keeps_its_memory_through_a_grow(shm_name: str) -> None:
    shm = ms.SharedMemory(shm_name, create=True, size=4096)
    old = shm.buf
    old[0] = 9
    shm.resize(1 << 20)
    assert len(old) == 4096  # the old view stays valid, on the old mapping
    assert shm.buf[0] == 9
    old[1] = 8
    assert shm.buf[1] == 8
    with pytest.raises(BufferError, match="views"):
        shm.resize(100)  # the old view still reaches past 100
    del old
    shm.close()


def test_permission_denied(shm_name: str) -> None:
    ms.SharedMemory(shm_name, create=True, size=10, mode=0o600)

    def attach_as_someone_else() -> str:
        if os.getuid() == 0:
            os.setuid(65534)  # root may open anything; nobody may not
        else:
            os.chmod(f"/dev/shm/{shm_name}", 0)  # nor may its owner, then
        with pytest.raises(PermissionError, match="shm_open") as error:
            ms.SharedMemory(shm_name)
        return str(error.value.filename)

    assert in_child(attach_as_someone_else) == shm_name


def test_creating_readonly_is_refused(shm_name: str) -> None:
    with pytest.raises(ValueError, match="readonly"):
        ms.SharedMemory(shm_name, create=True, size=10, readonly=True)
    assert not exists(shm_name)
