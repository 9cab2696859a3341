"""Helpers for tests that watch processes and the kernel's view of memory."""

from __future__ import annotations

import contextlib
import mmap
import multiprocessing
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

import memshare as ms

T = TypeVar("T")

START_METHODS = ["fork", "spawn", "forkserver"]


class Recorder:
    """Runs the steps of a scenario and writes down what each one did."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, object]] = []

    def __call__(self, label: str, step: Callable[[], object]) -> Any:
        try:
            value = step()
        except Exception as error:  # noqa: BLE001 - every outcome is compared
            self.log.append((label, "raises", self._error(error)))
            return None
        self.log.append((label, "returns", self._value(value)))
        return value

    @staticmethod
    def _error(error: Exception) -> object:
        # The first builtin class: memshare may raise a subclass that is
        # also another builtin exception (KeyError and TypeError, say).
        kind = next(c for c in type(error).__mro__ if c.__module__ == "builtins")
        if isinstance(error, OSError):
            return (kind.__name__, error.errno)
        return kind.__name__

    @staticmethod
    def _value(value: object) -> object:
        if isinstance(value, (mmap.mmap, ms.Mapping)):
            return "<mapping>"
        if isinstance(value, memoryview):
            return ("memoryview", value.tobytes(), value.readonly)
        return value


def in_child(function: Callable[[], T]) -> T:
    """Run `function` in a forked child and return its result or raise its
    exception here.

    For code that would kill the process if memshare got it wrong: a fault
    in the child fails the test that asked, instead of the whole run.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_end)
        signal.alarm(60)  # a hang ends as a death by SIGALRM, reported below
        try:
            try:
                outcome: tuple[str, object] = ("returned", function())
            except BaseException as error:  # noqa: BLE001 - sent to the parent
                outcome = ("raised", error)
            with os.fdopen(write_end, "wb") as pipe:
                pickle.dump(outcome, pipe)
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        pytest.fail(f"the child died of {signal.Signals(os.WTERMSIG(status)).name}")
    kind, value = pickle.loads(data)
    if kind == "raised":
        raise value
    return value  # type: ignore[no-any-return]


def wait_for(condition: Callable[[], bool], timeout: float = 10) -> bool:
    """Whether `condition` holds within `timeout` seconds (polled): for what
    another process, or a thread of memshare's, does in its own time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def smaps_entry(address: int, pid: int | str = "self") -> dict[str, int]:
    """The numeric fields (in kB) of the /proc/PID/smaps entry holding
    `address`."""
    fields: dict[str, int] = {}
    inside = False
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                start, end = (int(part, 16) for part in head.split("-"))
                if inside:
                    break
                inside = start <= address < end
            elif inside and line.split()[-1] == "kB":
                fields[head.rstrip(":")] = int(line.split()[1])
    if not inside:
        raise LookupError(f"no mapping holds {address:#x}")
    return fields


def shmem_kib() -> int:
    """The shared memory the whole system holds (Shmem of /proc/meminfo), in kB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Shmem:"):
            return int(line.split()[1])
    raise LookupError("no Shmem in /proc/meminfo")


def dirty_kib(address: int) -> int:
    """How much of the mapping holding `address` is dirty, in kB."""
    entry = smaps_entry(address)
    return entry["Shared_Dirty"] + entry["Private_Dirty"]


def maps_line(address: int) -> str:
    """The /proc/self/maps line of the mapping holding `address`."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            start, end = (int(part, 16) for part in line.split()[0].split("-"))
            if start <= address < end:
                return line.rstrip("\n")
    raise LookupError(f"no mapping holds {address:#x}")


def helper_of(program: str, creator: int) -> int:
    """The pid of memshare's helper `program` (memshare-reaper or
    memshare-courier) that serves process `creator`."""
    wanted = [program.encode(), b"--creator", str(creator).encode()]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv[:3] == wanted:
                return int(entry.name)
    raise LookupError(f"no {program} serves {creator}")


def condition_waiters(condition: Any) -> int:
    """How many waiter slots of a memshare Condition's cell are taken."""
    slots = condition.cell[16:].view(np.uint32).reshape(-1, 4)
    return int(np.count_nonzero(slots[:, 0] != 0))


def is_zombie(pid: int) -> bool:
    """Whether process `pid` ended and was not waited for yet."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rpartition(")")[2].split()[0] == "Z"


def run_contending(
    target: Callable[..., None], args: tuple[Any, ...], count: int = 8
) -> None:
    """Run ``target(*args, start)`` in `count` spawned processes that wait
    for the event `start` and so all begin at once; each must end well."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    workers = [ctx.Process(target=target, args=(*args, start)) for _ in range(count)]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0


WAIT_FOR_CTRL_C = """
import sys, time
import memshare
from multiprocessing import reduction

waits = reduction.ForkingPickler.loads(sys.stdin.buffer.read())
print("waiting", flush=True)
start = time.monotonic()
try:
    getattr(waits, sys.argv[1])()
except KeyboardInterrupt:
    print(f"interrupted after {time.monotonic() - start:.3f}", flush=True)
"""


def interrupt_waiting(waits: object, method: str) -> tuple[str, float]:
    """Send `waits` to a new process that calls its `method` (which must
    wait), press Ctrl-C there, and tell what it printed and how long after."""
    # This process's import path: `waits` may be of a test module's class.
    path = os.pathsep.join(entry for entry in sys.path if entry)
    waiter = subprocess.Popen(
        [sys.executable, "-c", WAIT_FOR_CTRL_C, method],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert waiter.stdin is not None
    assert waiter.stdout is not None
    waiter.stdin.write(multiprocessing.reduction.ForkingPickler.dumps(waits))
    waiter.stdin.close()
    assert waiter.stdout.readline() == b"waiting\n"
    time.sleep(0.2)  # inside the wait
    sent = time.monotonic()
    waiter.send_signal(signal.SIGINT)
    line = waiter.stdout.readline().decode()
    elapsed = time.monotonic() - sent
    assert waiter.wait(60) == 0
    waiter.stdout.close()
    return line, elapsed


@contextlib.contextmanager
def ray_folder() -> Iterator[str]:
    """A folder for Ray's session, removed after: directly in /tmp, as Ray's
    socket paths in it must fit in 107 bytes and the suite's own temporary
    directory is too deep for that."""
    folder = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
