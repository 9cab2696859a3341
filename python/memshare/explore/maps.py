"""What a process has mapped: /proc/PID/smaps, parsed.

:func:`maps` lists every mapping of a process with its address range,
permissions, file, which kind of mapping it is (the four kinds: private or
shared, of a file or of anonymous memory, plus the heap, the stack and the
kernel's own pages) and how much of it is in memory (RSS, PSS, and the
clean and dirty, shared and private parts), so that one can see what fork,
copy-on-write and sharing do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import _html

__all__ = ["MapEntry", "MapList", "maps"]

# Pseudo-paths the kernel gives mappings that are no file.
_SPECIAL = {
    "[heap]": "heap",
    "[stack]": "stack",
    "[vdso]": "vdso",
    "[vvar]": "vvar",
    "[vvar_vclock]": "vvar",
    "[vsyscall]": "vsyscall",
}


@dataclass(frozen=True)
class MapEntry:
    """One mapping of a process, as /proc/PID/smaps describes it.

    ``kind`` is ``"private anonymous"``, ``"shared anonymous"``, ``"private
    file"`` or ``"shared file"`` (a memfd, such as a memshare array's, is a
    shared file whose path starts with ``/memfd:``), or ``"heap"``,
    ``"stack"``, ``"vdso"``, ``"vvar"``, ``"vsyscall"`` for the kernel's own.
    Sizes are in bytes.
    """

    start: int
    end: int
    perms: str  # "rw-s": read, write, execute, shared or private
    offset: int
    device: str
    inode: int
    path: str
    kind: str
    sizes: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def size(self) -> int:
        return self.end - self.start

    @property
    def shared(self) -> bool:
        return self.perms[3] == "s"

    @property
    def rss(self) -> int:
        """Bytes of it in memory."""
        return self.sizes.get("Rss", 0)

    @property
    def pss(self) -> int:
        """Its proportional set size: private bytes, plus an equal share of
        the bytes other processes map too."""
        return self.sizes.get("Pss", 0)

    @property
    def shared_dirty(self) -> int:
        return self.sizes.get("Shared_Dirty", 0)

    @property
    def private_dirty(self) -> int:
        return self.sizes.get("Private_Dirty", 0)

    def __contains__(self, address: object) -> bool:
        return isinstance(address, int) and self.start <= address < self.end


def _kind(perms: str, inode: int, path: str) -> str:
    if path in _SPECIAL:
        return _SPECIAL[path]
    shared = perms[3] == "s"
    # Shared anonymous memory is the kernel's shmem file "/dev/zero (deleted)"
    # (or "[anon_shmem:NAME]" once named); private anonymous memory has no
    # file at all (or "[anon:NAME]" once named).
    if path == "/dev/zero (deleted)" or path.startswith("[anon_shmem:"):
        return "shared anonymous"
    if inode == 0 and (not path or path.startswith("[anon:")):
        return "shared anonymous" if shared else "private anonymous"
    return "shared file" if shared else "private file"


def _entry(header: str) -> tuple[int, int, str, int, str, int, str]:
    # "start-end perms offset dev inode [path]"; the path may hold spaces.
    parts = header.split(None, 5)
    start, end = (int(part, 16) for part in parts[0].split("-"))
    path = parts[5].rstrip("\n") if len(parts) > 5 else ""
    return start, end, parts[1], int(parts[2], 16), parts[3], int(parts[4]), path


class MapList(list[MapEntry]):
    """The list :func:`maps` returns: a list, shown in Jupyter as a table."""

    def _repr_html_(self) -> str:
        return _html.table(
            f"{len(self)} mappings",
            ["range", "perms", "kind", "size", "RSS", "PSS", "path"],
            (
                [
                    f"{e.start:#x}-{e.end:#x}",
                    e.perms,
                    e.kind,
                    _html.size(e.size),
                    _html.size(e.rss),
                    _html.size(e.pss),
                    e.path,
                ]
                for e in self
            ),
        )


def maps(pid: int | None = None) -> MapList:
    """Every mapping of process `pid` (this one if None), lowest address
    first.  Another user's process needs the rights to read its smaps
    (PermissionError otherwise)."""
    where = "self" if pid is None else str(int(pid))
    entries = MapList()
    with open(f"/proc/{where}/smaps") as smaps:
        current: tuple[int, int, str, int, str, int, str] | None = None
        sizes: dict[str, int] = {}
        for line in smaps:
            name, _, rest = line.partition(":")
            if " " not in name and rest.endswith(" kB\n"):
                sizes[name] = int(rest.split()[0]) * 1024
            elif "-" in line.split(None, 1)[0] and not name.startswith("VmFlags"):
                if current is not None:
                    entries.append(_make(current, sizes))
                current, sizes = _entry(line), {}
        if current is not None:
            entries.append(_make(current, sizes))
    return entries


def _make(
    fields: tuple[int, int, str, int, str, int, str], sizes: dict[str, int]
) -> MapEntry:
    start, end, perms, offset, device, inode, path = fields
    return MapEntry(
        start, end, perms, offset, device, inode, path, _kind(perms, inode, path), sizes
    )
