"""What is in /dev/shm: :func:`segments`, :func:`segment` and
:func:`clean_segments`."""

from __future__ import annotations

import contextlib
import pwd
import time
from dataclasses import dataclass

from .. import _core
from ..explore import _html
from .calls import Name, _encode

__all__ = ["Segment", "clean_segments", "segment", "segments"]


@dataclass(frozen=True)
class Segment:
    """A POSIX shared memory object, as :func:`segments` found it.

    ``creator``, ``created``, ``tracked`` and ``creator_alive`` are known for
    the segments memshare made (on Linux 6.6 or later, where /dev/shm keeps
    extended attributes) and ``None`` for others.  ``mapped_by`` lists the
    processes that map it, of those whose memory maps this process may read.
    """

    name: str
    size: int
    uid: int
    owner: str
    mode: int
    modified: float
    memshare: bool
    creator: int | None
    creator_alive: bool | None
    created: float | None
    tracked: bool | None
    mapped_by: tuple[int, ...]

    @property
    def age(self) -> float:
        """Seconds since it was created (since it last changed, if unknown)."""
        return time.time() - (
            self.created if self.created is not None else self.modified
        )

    @property
    def leftover(self) -> bool:
        """Whether it is a tracked memshare segment that outlived its creator
        and that no process maps: what :func:`clean_segments` removes."""
        return bool(self.tracked) and self.creator_alive is False and not self.mapped_by


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _segment(info: _core.SegmentInfo) -> Segment:
    created = None if info.created_ns is None else info.created_ns / 1e9
    return Segment(
        name=info.name,
        size=info.size,
        uid=info.uid,
        owner=_owner(info.uid),
        mode=info.mode,
        modified=info.modified_ns / 1e9,
        memshare=info.memshare,
        creator=info.creator,
        creator_alive=info.creator_alive,
        created=created,
        tracked=info.tracked,
        mapped_by=tuple(info.mapped_by),
    )


class SegmentList(list[Segment]):
    """The list :func:`segments` returns: a list, shown in Jupyter as a
    table."""

    def _repr_html_(self) -> str:
        return _html.table(
            f"{len(self)} segments in /dev/shm",
            ["name", "size", "owner", "memshare", "creator", "mapped by"],
            (
                [
                    s.name,
                    _html.size(s.size),
                    s.owner,
                    s.memshare,
                    "" if s.creator is None else s.creator,
                    " ".join(map(str, s.mapped_by)),
                ]
                for s in self
            ),
        )


def segments() -> SegmentList:
    """Every shared memory object in /dev/shm, by name."""
    return SegmentList(_segment(info) for info in _core.list_segments())


def segment(name: Name) -> Segment:
    """The shared memory object ``name``; FileNotFoundError if there is none."""
    return _segment(_core.describe_segment(_encode(name)))


def clean_segments(*, dry_run: bool = False) -> list[Segment]:
    """Remove the leftovers of dead creators, and return them.

    A leftover is a segment memshare created with ``track=True`` whose creator
    has ended and that no process maps: its reaper should have removed it,
    and did not (it was killed with its creator, say).  Segments memshare did
    not create, and untracked ones, are never touched.  ``dry_run=True`` only
    lists them.
    """
    found = [s for s in segments() if s.leftover]
    if not dry_run:
        for leftover in found:
            # Someone else may have removed it meanwhile.
            with contextlib.suppress(FileNotFoundError):
                _core.shm_unlink(_encode(leftover.name))
    return found
