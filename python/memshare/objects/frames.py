"""A pickle and its out-of-band buffers laid out in one piece of memory.

A *frame* is a small header (the pickle's size, how many buffers, each
buffer's size), the pickle, then each buffer at a 64-byte boundary.  Reading
one gives the pickle and the buffers as views of the frame, so unpickling
rebuilds arrays over its memory instead of copying them out.  Queue records
(``queues/items.py``) and ``ms.put``'s segments (``refs.py``) are frames.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__: list[str] = []

ALIGN = 64  # where buffers start: a cache line, as NumPy likes
_COUNTS = struct.Struct("<QQ")  # the header: the pickle's size, buffers


def layout(pickled: int, sizes: Sequence[int]) -> tuple[list[int], int]:
    """Where a frame's pickle and buffers start, and its size."""
    at = _COUNTS.size + 8 * len(sizes)
    starts = [at]
    at += pickled
    for size in sizes:
        at = -(-at // ALIGN) * ALIGN
        starts.append(at)
        at += size
    return starts, at


def parts(data: bytes, raws: Sequence[memoryview]) -> tuple[list[Any], list[int], int]:
    """The pieces of the frame of pickle `data` and buffers `raws`, where each
    starts, and the frame's size."""
    sizes = [raw.nbytes for raw in raws]
    starts, size = layout(len(data), sizes)
    header = _COUNTS.pack(len(data), len(raws)) + struct.pack(f"<{len(raws)}Q", *sizes)
    return [header, data, *raws], [0, *starts], size


def fill(frame: memoryview, pieces: Sequence[Any], at: Sequence[int]) -> None:
    for start, piece in zip(at, pieces, strict=True):
        frame[start : start + len(piece)] = piece


def fill_array(
    frame: np.ndarray[Any, Any], pieces: Sequence[Any], at: Sequence[int]
) -> None:
    """`fill` into an array of bytes, through NumPy, which lets go of the GIL
    while it copies a large piece."""
    for start, piece in zip(at, pieces, strict=True):
        source = np.frombuffer(piece, np.uint8)
        frame[start : start + source.size] = source


def read(frame: Buffer) -> tuple[memoryview, list[memoryview]]:
    """The pickle of `frame` and its buffers, as views of it; ValueError if
    its header does not fit it (a frame damaged, or not one)."""
    view = memoryview(frame)
    if view.nbytes < _COUNTS.size:
        raise ValueError(f"a frame of {view.nbytes} bytes is shorter than its header")
    pickled, count = _COUNTS.unpack_from(view)
    if _COUNTS.size + 8 * count > view.nbytes:
        raise ValueError(f"a frame of {view.nbytes} bytes cannot hold {count} buffers")
    sizes = struct.unpack_from(f"<{count}Q", view, _COUNTS.size)
    (at, *starts), size = layout(pickled, sizes)
    if size > view.nbytes:
        raise ValueError(f"a frame of {view.nbytes} bytes says it holds {size}")
    buffers = [
        view[start : start + size] for start, size in zip(starts, sizes, strict=True)
    ]
    return view[at : at + pickled], buffers
