"""The SIGBUS shield: memory that goes away under a mapping (a file truncated
by another process, a SharedMemory shrunk by its creator, a segment written
when /dev/shm is full) ends no process.  Each case runs in a real child,
started by fork and by spawn, which reads through NumPy, a memoryview or
bytes(), lives, and hears of it as MappingDamagedError."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import memshare as ms

PAGE = ms.PAGESIZE
PAGES = 64
HOW = ["numpy", "memoryview", "bytes"]


def _until_told(seconds: float = 10) -> None:
    """Runs Python code until the shield's error arrives (or time is up)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass


def _read(buffer: memoryview, how: str) -> None:
    if how == "numpy":
        np.frombuffer(buffer, np.uint8).sum()
    elif how == "memoryview":
        sum(buffer[-PAGE:])
    else:
        bytes(buffer)


def _read_after_shrinking(conn: Connection, buffer: memoryview, how: str) -> list[Any]:
    conn.send("ready")
    conn.recv()  # the other process shrank the memory
    outcome: list[Any] = []
    try:
        _read(buffer, how)
        _until_told()
        outcome = ["no error", ""]
    except ms.MappingDamagedError as error:
        outcome = ["MappingDamagedError", str(error)]
    # What stays: the bytes before the end, zeros after it.
    data = np.frombuffer(buffer, np.uint8)
    return [*outcome, int(data[:PAGE].min()), int(data[PAGE:].max())]


def _truncated_file_reader(conn: Connection, path: str, how: str) -> None:
    mapping = ms.map_file(path)
    outcome = _read_after_shrinking(conn, memoryview(mapping), how)
    # And memshare's own calls say so at once.
    try:
        mapping[PAGE:]
        outcome.append("no error")
    except ms.MappingDamagedError as error:
        outcome.append(str(error))
    conn.send(outcome)


def _shared_memory_reader(conn: Connection, name: str, how: str) -> None:
    block = ms.SharedMemory(name)
    conn.send(_read_after_shrinking(conn, block.buf, how))


def _run(method: str, target: Any, args: tuple[Any, ...], shrink: Any) -> list[Any]:
    context = multiprocessing.get_context(method)
    ours, theirs = context.Pipe()
    child = context.Process(target=target, args=(theirs, *args))
    child.start()
    try:
        assert ours.poll(60)
        assert ours.recv() == "ready"
        shrink()
        ours.send("go")
        assert ours.poll(60), "the child did not answer"
        outcome: list[Any] = ours.recv()
    finally:
        child.join(60)
        if child.is_alive():  # the test failed before the child was told
            child.kill()
            child.join()
    assert child.exitcode == 0, f"the child ended with {child.exitcode}"
    return outcome


def _check(outcome: list[Any], what: str) -> None:
    kind, message, before, after = outcome[:4]
    assert kind == "MappingDamagedError", outcome
    assert what in message
    assert "zero-filled pages" in message
    assert "writes there are lost" in message
    assert (before, after) == (1, 0)  # the bytes kept, and zeros past the end


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_file_truncated_by_another_process(
    method: str, how: str, tmp_path: Path
) -> None:
    path = tmp_path / "data"
    path.write_bytes(b"\1" * (PAGES * PAGE))
    outcome = _run(
        method,
        _truncated_file_reader,
        (str(path), how),
        lambda: os.truncate(path, PAGE),
    )
    _check(outcome, str(path))
    assert f"shrank to {PAGE} bytes" in outcome[1]
    assert "index" in outcome[4]
    assert "zero-filled pages" in outcome[4]


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_shared_memory_block_shrunk_by_its_creator(
    method: str, how: str, shm_name: str
) -> None:
    block = ms.SharedMemory(shm_name, create=True, size=PAGES * PAGE)
    block.buf[:] = b"\1" * (PAGES * PAGE)
    try:
        outcome = _run(
            method,
            _shared_memory_reader,
            (shm_name, how),
            lambda: os.truncate(f"/dev/shm/{shm_name}", PAGE),
        )
    finally:
        block.close()
        block.unlink()
    _check(outcome, shm_name)


def test_memshare_calls_on_a_truncated_file_raise_at_once(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(b"\1" * (4 * PAGE))
    mapping = ms.map_file(path, mode="r+")
    os.truncate(path, PAGE)
    with pytest.raises(ms.MappingDamagedError, match="shrank to") as error:
        mapping[:]
    assert error.value.errno == 14  # EFAULT
    for call in (
        lambda: mapping.read(),
        lambda: mapping.protect(ms.PROT_READ),
        lambda: mapping.resize(8 * PAGE),
        lambda: memoryview(mapping),
    ):
        with pytest.raises(ms.MappingDamagedError):
            call()
    mapping.close()  # closing works, and nothing is left mapped
    assert str(path) not in Path("/proc/self/maps").read_text()


FULL_SHM = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np
    import memshare as ms

    def fill(how):
        block = ms.SharedMemory(create=True, size=4 << 20, reserve=False)
        data = np.frombuffer(block.buf, np.uint8)
        try:
            if how == "numpy":
                data[:] = 1
            elif how == "memoryview":
                for page in range(0, len(block.buf), 4096):
                    block.buf[page] = 1
            else:
                bytes(block.buf)  # reading holes needs pages too
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                pass
            print("no error")
        except ms.MappingDamagedError as error:
            print("MappingDamagedError", "filesystem is full" in str(error))
        block.unlink()

    for how in ("numpy", "memoryview", "bytes"):
        fill(how)
        pid = os.fork()  # and in a forked child
        if pid == 0:
            fill(how)
            os._exit(0)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    """
)


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare")
def test_a_segment_written_when_dev_shm_is_full() -> None:
    # A /dev/shm of 256 KiB of its own, in a mount namespace: nothing else
    # sees it fill up.
    command = (
        "mount -t tmpfs -o size=256k memshare-test /dev/shm && "
        f'exec {sys.executable} -c "$0"'
    )
    result = subprocess.run(
        ["unshare", "--mount", "--map-root-user", "sh", "-c", command, FULL_SHM],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if "Operation not permitted" in result.stderr and result.returncode != 0:
        pytest.skip(f"this machine allows no mount namespace: {result.stderr}")
    assert result.returncode == 0, result.stderr
    # Each line stands for a process that lived: three here, three forked.
    assert result.stdout.split("\n")[:-1] == ["MappingDamagedError True"] * 6, (
        result.stdout + result.stderr
    )


def test_faults_elsewhere_still_reach_faulthandler(tmp_path: Path) -> None:
    # A SIGBUS in memory memshare did not map ends the process as before,
    # with faulthandler's traceback: the shield hands it on.
    script = textwrap.dedent(
        f"""
        import faulthandler, mmap, os
        import memshare as ms
        faulthandler.enable()
        ms.map_anonymous(4096)  # the shield is in place
        path = {str(tmp_path / "other")!r}
        with open(path, "wb") as file:
            file.write(bytes(8192))
        with open(path, "r+b") as file:
            plain = mmap.mmap(file.fileno(), 8192)
        os.truncate(path, 0)
        plain[4096]
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == -signal.SIGBUS
    assert "Fatal Python error: Bus error" in result.stderr
