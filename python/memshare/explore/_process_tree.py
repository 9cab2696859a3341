"""The memory of a process and its descendants, from /proc.

PSS (proportional set size) charges each process its private pages and an
equal share of the pages it shares, so the PSS of a tree adds up to the
memory the tree really holds: an array mapped by nine processes counts once.
"""

from __future__ import annotations

import os
import threading
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Self


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                # After the command name, which may hold spaces and ")".
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants alive now."""
    children = _children_by_parent()
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children.get(current, ()))
    return found


def rollup(pid: int) -> dict[str, int]:
    """The sizes of /proc/PID/smaps_rollup (Rss, Pss, Private_Dirty, ...)
    in bytes; empty once the process is gone."""
    sizes: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as lines:
            for line in lines:
                key, _, rest = line.partition(":")
                if rest.endswith(" kB\n"):
                    sizes[key] = int(rest.split()[0]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return sizes


def pss(pid: int) -> int:
    """The PSS of process `pid` in bytes; 0 once it is gone."""
    return rollup(pid).get("Pss", 0)


def io_counters(path: str = "/proc/self/io") -> dict[str, int]:
    """Bytes read and written by system calls (rchar, wchar, ...)."""
    with open(path, "rb") as io:
        return {
            key.decode(): int(value) for key, value in (line.split(b":") for line in io)
        }


class PeakMemory:
    """The highest total PSS of a process tree while the block runs.

    A thread samples every `interval` seconds; the tree is looked up again
    each time, so processes started inside the block are counted.
    `read_bytes` is what the sampling itself read, for callers who count
    this process's I/O.
    """

    def __init__(self, pid: int | None = None, interval: float = 0.05) -> None:
        self.pid = os.getpid() if pid is None else pid
        self.interval = interval
        self.peak = 0
        self.read_bytes = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, sum(map(pss, tree(self.pid))))
            if self._stop.wait(self.interval):
                break
        self.read_bytes = io_counters("/proc/thread-self/io")["rchar"]

    def __enter__(self) -> Self:
        self._sampler.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._sampler.join()
