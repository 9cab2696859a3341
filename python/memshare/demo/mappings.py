"""``python -m memshare demo mappings``: the four kinds of mapping, shown
with a real child process, and the interpreter surviving what would crash it
with :mod:`mmap`."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TextIO

from .. import constants
from ..mapping import Mapping, map_anonymous, map_file

PAGE = constants.PAGESIZE


def _child(m: Mapping, conn: Connection) -> None:
    conn.send(m[:6])
    m[:6] = b"child "
    conn.send(None)


def _round_trip(m: Mapping) -> tuple[bytes, bytes]:
    """What a forked child sees of the parent's write, and what the parent
    then sees of the child's."""
    m[:6] = b"parent"
    parent_end, child_end = multiprocessing.Pipe()
    # Anonymous memory reaches a child only through fork().
    child = multiprocessing.get_context("fork").Process(
        target=_child, args=(m, child_end)
    )
    child.start()
    seen_by_child = parent_end.recv()
    parent_end.recv()
    child.join()
    return seen_by_child, m[:6]


def _show(data: bytes) -> str:
    return repr(data.decode("latin-1")) if any(data) else "zeros"


def four_kinds(directory: Path, out: TextIO) -> None:
    print(
        "The four kinds of mapping, each written by a parent and a forked child:",
        file=out,
    )
    print(file=out)
    header = f"  {'kind':<18} {'child sees':<11} {'parent sees':<12} the file holds"
    print(header, file=out)
    for name in ("shared.bin", "private.bin"):
        (directory / name).write_bytes(b"-" * PAGE)
    mappings = [
        map_anonymous(PAGE, shared=True),
        map_anonymous(PAGE, shared=False),
        map_file(directory / "shared.bin", mode="r+"),
        map_file(directory / "private.bin", mode="c"),
    ]
    for m in mappings:
        seen_by_child, seen_by_parent = _round_trip(m)
        on_disk = "-"
        if not m.anonymous:
            m.flush()
            name = "shared.bin" if m.shared else "private.bin"
            on_disk = _show((directory / name).read_bytes()[:6])
        print(
            f"  {m.kind:<18} {_show(seen_by_child):<11} "
            f"{_show(seen_by_parent):<12} {on_disk}",
            file=out,
        )
        m.close()
    print(file=out)
    print(
        "  Shared mappings carry writes both ways and into the file; private ones\n"
        "  are copied on write, so the child's write stays in the child.",
        file=out,
    )


def survives_misuse(out: TextIO) -> None:
    print(file=out)
    m = map_anonymous(4 * PAGE, shared=False)
    m.protect(constants.PROT_READ, PAGE, PAGE)
    try:
        m[PAGE] = 1
    except TypeError as error:
        print(
            f"Writing to a read-only page raises, not SIGSEGV:\n  TypeError: {error}",
            file=out,
        )
    m[0] = 1
    m[3 * PAGE] = 1
    resident = "".join("#" if page else "." for page in m.residency())
    print(
        f"Pages resident after touching the first and the last: [{resident}]", file=out
    )
    m.close()


def run(out: TextIO) -> int:
    print(
        f"memshare demo mappings (pages of {PAGE} bytes, pid {os.getpid()})", file=out
    )
    print(file=out)
    with tempfile.TemporaryDirectory(prefix="memshare-demo-") as directory:
        four_kinds(Path(directory), out)
    survives_misuse(out)
    return 0
