"""How much memory a process and its descendants really hold.

RSS counts every page a process has in memory, so pages that N processes
share are counted N times; PSS (proportional set size) charges each process
an equal share of them instead, so the PSS of a tree adds up to what the
tree holds: a shared array mapped by nine processes counts once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from . import _html
from ._process_tree import rollup, tree

__all__ = ["MemoryReport", "ProcessMemory", "memory_report"]


@dataclass(frozen=True)
class ProcessMemory:
    """One process of a :class:`MemoryReport`; sizes in bytes."""

    pid: int
    name: str
    rss: int
    pss: int
    private: int  # bytes no other process maps (USS)


@dataclass(frozen=True)
class MemoryReport:
    """The memory of a process tree, process by process."""

    processes: tuple[ProcessMemory, ...]

    @property
    def rss(self) -> int:
        """The RSS of every process added up: shared pages counted as often
        as they are mapped."""
        return sum(process.rss for process in self.processes)

    @property
    def pss(self) -> int:
        """What the tree really holds: shared pages counted once."""
        return sum(process.pss for process in self.processes)

    def __str__(self) -> str:
        lines = [f"{'pid':>8} {'name':<16} {'RSS':>10} {'PSS':>10} {'private':>10}"]
        for p in self.processes:
            lines.append(
                f"{p.pid:>8} {p.name:<16} {_mib(p.rss)} {_mib(p.pss)} {_mib(p.private)}"
            )
        lines.append(f"{'':>8} {'all':<16} {_mib(self.rss)} {_mib(self.pss)}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = [
            [p.pid, p.name, _html.size(p.rss), _html.size(p.pss), _html.size(p.private)]
            for p in self.processes
        ]
        rows.append(["", "all", _html.size(self.rss), _html.size(self.pss), ""])
        return _html.table(
            "memory of a process tree", ["pid", "name", "RSS", "PSS", "private"], rows
        )


def _mib(size: int) -> str:
    return f"{size / (1 << 20):>6.1f} MiB"


def _process(pid: int) -> ProcessMemory | None:
    """The memory of `pid`; None once it is gone."""
    try:
        with open(f"/proc/{pid}/comm") as comm:
            name = comm.read().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None
    sizes = rollup(pid)
    if not sizes:
        return None
    private = sizes.get("Private_Clean", 0) + sizes.get("Private_Dirty", 0)
    return ProcessMemory(pid, name, sizes.get("Rss", 0), sizes.get("Pss", 0), private)


def memory_report(pid: int | None = None) -> MemoryReport:
    """The memory of process `pid` (this one if None) and all its
    descendants alive now (multiprocessing's workers, say)."""
    found = (_process(member) for member in tree(os.getpid() if pid is None else pid))
    return MemoryReport(tuple(process for process in found if process is not None))
