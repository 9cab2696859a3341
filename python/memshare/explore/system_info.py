"""``ms.info()``: what this machine and process allow for shared memory."""

from __future__ import annotations

import dataclasses
import os
import resource
from dataclasses import dataclass
from pathlib import Path

from .. import _core
from . import _html

__all__ = ["SystemInfo", "info"]

THP = Path("/sys/kernel/mm/transparent_hugepage")


def _chosen(path: Path) -> str:
    """The bracketed choice of a sysfs setting ("always [madvise] never")."""
    try:
        text = path.read_text()
    except OSError:
        return "unavailable"
    start, end = text.find("["), text.find("]")
    return text[start + 1 : end] if 0 <= start < end else text.strip()


def _limit(which: int) -> int | None:
    soft = resource.getrlimit(which)[0]
    return None if soft == resource.RLIM_INFINITY else soft


@dataclass(frozen=True)
class SystemInfo:
    """What :func:`info` found.  Sizes are in bytes; ``None`` is unlimited."""

    page_size: int
    huge_page_sizes: tuple[int, ...]
    free_huge_pages: dict[int, int]  # by huge page size, not reserved
    transparent_hugepages: str  # for anonymous memory: always, madvise, never
    shmem_hugepages: str  # for shared memory: always, within_size, advise, never
    memory: int  # physical memory
    dev_shm_size: int
    dev_shm_free: int
    open_files_limit: int | None  # RLIMIT_NOFILE
    locked_memory_limit: int | None  # RLIMIT_MEMLOCK
    open_files: int  # descriptors this process holds now
    recycling_budget: int  # array memory this process keeps for reuse, at most
    kept: dict[str, int]  # parked and recycled segments kept now, and bytes

    def rows(self) -> list[tuple[str, str]]:
        size = _core.format_bytes
        huge = ", ".join(
            f"{size(s)} ({self.free_huge_pages.get(s, 0)} free)"
            for s in self.huge_page_sizes
        )
        files = self.open_files_limit
        kept = self.kept
        made_here = f"{kept['recycled']} made here ({size(kept['recycled_bytes'])})"
        received = f"{kept['parked']} received ({size(kept['parked_bytes'])})"
        locked = self.locked_memory_limit
        return [
            ("page size", size(self.page_size)),
            ("huge page sizes", huge or "none"),
            ("transparent huge pages", self.transparent_hugepages),
            ("shmem huge pages", self.shmem_hugepages),
            ("memory", size(self.memory)),
            (
                "/dev/shm",
                f"{size(self.dev_shm_free)} free of {size(self.dev_shm_size)}",
            ),
            ("open files", f"{self.open_files} of {files or 'unlimited'}"),
            ("locked memory limit", "unlimited" if locked is None else size(locked)),
            ("recycling budget", size(self.recycling_budget)),
            ("kept for reuse", f"{made_here}, {received}"),
        ]

    def __str__(self) -> str:
        rows = self.rows()
        width = max(len(key) for key, _ in rows)
        return "\n".join(f"{key:<{width}}  {value}" for key, value in rows)

    def _repr_html_(self) -> str:
        return _html.table(
            "memshare.info()", ["setting", "value"], [list(r) for r in self.rows()]
        )

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def info() -> SystemInfo:
    """Page and huge page sizes, the transparent huge page settings, memory,
    /dev/shm's size and free space, the descriptor and locked-memory limits,
    and the array memory this process keeps for reuse."""
    sizes = tuple(_core.huge_page_sizes())
    shm = os.statvfs("/dev/shm")
    return SystemInfo(
        page_size=_core.PAGESIZE,
        huge_page_sizes=sizes,
        free_huge_pages={s: _core.free_huge_pages(s) for s in sizes},
        transparent_hugepages=_chosen(THP / "enabled"),
        shmem_hugepages=_chosen(THP / "shmem_enabled"),
        memory=os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"),
        dev_shm_size=shm.f_blocks * shm.f_frsize,
        dev_shm_free=shm.f_bavail * shm.f_frsize,
        open_files_limit=_limit(resource.RLIMIT_NOFILE),
        locked_memory_limit=_limit(resource.RLIMIT_MEMLOCK),
        open_files=len(os.listdir("/proc/self/fd")),
        recycling_budget=_core.recycling_budget(),
        kept=dict(_core.kept_segments()),
    )
