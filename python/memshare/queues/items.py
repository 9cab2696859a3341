"""How items travel through memshare's queues: the bytes of a record.

An item is pickled by multiprocessing's pickler at protocol 5, so shared
arrays inside it go as handles, and the data of other NumPy arrays is
handed out of band.  Then:

- without out-of-band data, the pickle is the record;
- with it, the record is a *frame* (``objects/frames.py``): a small header,
  the pickle, then each buffer at a 64-byte boundary.  The receiver
  unpickles the arrays as views of the frame: writable, no copy;
- a frame of 64 KiB or more, or a pickle larger than the ring, is written
  into shared memory of its own (one copy, into recycled memory), and the
  record is only the handle of that memory: the receiver reads it where it
  lies.  So no item is too large for a queue.
"""

from __future__ import annotations

import copyreg
import io
import pickle
from collections import ChainMap
from collections.abc import Iterable, Sequence
from multiprocessing.reduction import ForkingPickler
from typing import TYPE_CHECKING, Any

import numpy as np

from ..arrays.constructors import empty, prefault
from ..arrays.pickling import rebuild_ndarray, reduce_ndarray
from ..objects import arrow, frames

if TYPE_CHECKING:
    from typing_extensions import Buffer

    Record = tuple[Buffer, int]  # a record's payload and flags

__all__: list[str] = []

# A record's flags (a byte the queue's core keeps with it).
FRAME = 1  # a frame: the pickle and its out-of-band buffers
SPILLED = 2  # the handle of shared memory holding the record (with its flags)
HANDLES = 4  # it holds handles of shared memory (see take_back)

BIG = 64 << 10  # frames of this many bytes go into shared memory of their own


class _ItemPickler(ForkingPickler):
    """multiprocessing's pickler at protocol 5, buffers out of band, used
    item after item (making one costs several times pickling a small
    item)."""

    def __init__(self) -> None:
        self.file = io.BytesIO()
        self.buffers: list[pickle.PickleBuffer] = []
        self.handles = False  # whether the item holds handles of shared memory
        super().__init__(self.file, 5, True, self.buffers.append)  # by position
        # A live view, not ForkingPickler's copy: reducers registered after
        # this pickler was made count too.
        self.dispatch_table = ChainMap(  # type: ignore[assignment]  # any mapping does
            {np.ndarray: self._reduce_array},
            arrow.AT_PROTOCOL_5,
            vars(ForkingPickler)["_extra_reducers"],
            copyreg.dispatch_table,
        )

    def _reduce_array(self, array: np.ndarray[Any, Any]) -> Any:
        # Shared arrays go as handles (as through any multiprocessing
        # channel; so do the cells of locks, queues, ...), others at
        # protocol 5, their data out of band.
        reduced = reduce_ndarray(array, 5)
        if isinstance(reduced, tuple) and reduced[0] is rebuild_ndarray:
            self.handles = True
        return reduced

    def take(self, obj: object) -> tuple[bytes, list[pickle.PickleBuffer], bool]:
        """The pickle of `obj`, its out-of-band buffers, and whether it
        holds handles."""
        self.dump(obj)
        taken = self.file.getvalue(), self.buffers[:], self.handles
        self.file.seek(0)
        self.file.truncate()
        self.clear_memo()
        self.buffers.clear()
        self.handles = False
        return taken


# Picklers not in use.  Taken and given back by one list operation each
# (atomic under the GIL): each thread, and a reducer that puts into a queue
# while its item is pickled, gets one of its own.
_spare: list[_ItemPickler] = []


def _pickle(obj: object) -> tuple[bytes, list[pickle.PickleBuffer], bool]:
    pickler = _spare.pop() if _spare else _ItemPickler()
    taken = pickler.take(obj)  # one that failed is not reused
    if len(taken[0]) <= BIG:  # not to keep a large item's memory
        _spare.append(pickler)
    return taken


# Objects that multiprocessing's pickler pickles as pickle.dumps() does,
# with no reducer of its own and no buffer out of band.
_ATOMS = frozenset({int, float, complex, bool, str, bytes, type(None)})
_PLAIN_MOST = 16


def _atoms(items: tuple[Any, ...], nested: bool = True) -> bool:
    """Whether `items` is short and holds only atoms, or (`nested`) short
    tuples of atoms.  A long tuple is not looked through: that would cost
    what the pickler saves."""
    if len(items) > _PLAIN_MOST:
        return False
    for item in items:
        kind = type(item)
        if kind not in _ATOMS and not (
            nested and kind is tuple and _atoms(item, False)
        ):
            return False
    return True


def plain(obj: object) -> bool:
    """Whether `obj` is an atom, or a short tuple of atoms or of short
    tuples of them: what encode_plain() takes."""
    kind = type(obj)
    if kind is tuple:
        return _atoms(obj)  # type: ignore[arg-type]
    return kind in _ATOMS


def encode_plain(obj: object, largest: int) -> Record:
    """encode() of an object plain() says yes to, at a fraction of the cost
    of a pickler of multiprocessing's."""
    data = pickle.dumps(obj, 5)
    return (data, 0) if len(data) <= largest else _spill([data], len(data), 0)


def encode(obj: object, largest: int) -> Record:
    """The record that carries `obj` through a ring whose records hold at
    most `largest` bytes."""
    if plain(obj):  # the common small item: a number, a tuple of them
        return encode_plain(obj, largest)
    data, buffers, handles = _pickle(obj)
    flags = HANDLES if handles else 0
    if not buffers:
        if len(data) <= largest:
            return data, flags
        return _spill([data], len(data), flags)
    pieces, at, size = frames.parts(data, [buffer.raw() for buffer in buffers])
    if size >= BIG or size > largest:
        return _spill(pieces, size, flags | FRAME, at)
    frame = bytearray(size)
    frames.fill(memoryview(frame), pieces, at)
    return frame, flags | FRAME


def decode(payload: Buffer, flags: int) -> Any:
    """The item a record carries."""
    if flags & SPILLED:
        spill, flags = ForkingPickler.loads(payload)
        payload = spill.data  # read where it lies: no copy
    if not flags & FRAME:
        return pickle.loads(payload)
    pickled, buffers = frames.read(payload)
    return pickle.loads(pickled, buffers=buffers)


def _spill(
    pieces: Sequence[Any], size: int, flags: int, at: Sequence[int] = (0,)
) -> Record:
    """A record holding only the handle of shared memory that holds the
    record made of `pieces` (one copy of them, into recycled memory)."""
    spill = empty(size, np.uint8)
    prefault(spill)
    frames.fill_array(spill, pieces, at)
    return ForkingPickler.dumps((spill, flags)), SPILLED | HANDLES


def take_back(records: Iterable[Record]) -> None:
    """Receives here the handles in `records`, which were never put: each
    handle sent keeps its memory from reuse (and alive in the courier)
    until it is received."""
    for payload, flags in records:
        if flags & HANDLES:
            decode(payload, flags)
