"""Any picklable object in shared memory: ``put``, ``share`` and
:class:`ObjectRef`.

``put`` pickles the object at protocol 5 with its buffers out of band (the
data of NumPy arrays, pandas blocks, Arrow buffers, ``PickleBuffer`` and
``bytearray`` objects) and writes the pickle and the buffers into one
anonymous shared segment, as a frame (``frames.py``).  The
:class:`ObjectRef` it returns holds that segment; it travels as the
segment's handle, as a shared array does, through any pickler (the segment
is the point of it: it never pickles as a copy).  ``get()`` unpickles the
frame with the buffers as views of the segment, so the object it rebuilds
holds the shared memory itself, and whatever of it travels on (a
DataFrame's columns, an Arrow table's buffers) goes by handle too.

The segment lives as long as anything holds it, in any process: a ref, an
object rebuilt from it, or a view of one; then the kernel frees it, whether
the processes ended well or were killed.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np

from .._core import format_bytes
from ..arrays.constructors import empty, prefault
from ..arrays.pickling import rebuild_ndarray, reduce_ndarray
from . import arrow, frames

__all__ = ["ObjectRef", "put", "share"]


class ObjectRef:
    """An object in shared memory, made by :func:`put`; ``get()`` rebuilds it
    in any process.

    A ref is a small handle: pickled (by multiprocessing, concurrent.futures,
    ``ms.Queue``, joblib, Dask, Ray or plain :mod:`pickle`) it carries the
    address of its memory, never the object's bytes.  The memory stays while
    a ref or an object rebuilt from it lives in any process.
    """

    __slots__ = ("__weakref__", "_memory")

    def __init__(self, memory: np.ndarray[Any, Any]) -> None:
        # Made by put() and by unpickling; the memory is a frame.
        self._memory = memory

    @property
    def nbytes(self) -> int:
        """The size of the shared memory holding the object."""
        return int(self._memory.nbytes)

    @property
    def writable(self) -> bool:
        """Whether ``get()`` gives the object's buffers writable (as
        ``put(..., writable=True)`` asked): writes into them are then seen by
        every process that holds the object."""
        return bool(self._memory.flags.writeable)

    def get(self) -> Any:
        """The object, rebuilt over the shared memory: its buffers are views
        of it, not copies.  Each call rebuilds a new object over the same
        memory."""
        arrow.register_if_loaded()
        try:
            pickled, buffers = frames.read(self._memory.data)
        except ValueError as error:
            raise ValueError(f"an ObjectRef's memory is damaged: {error}") from None
        return pickle.loads(pickled, buffers=buffers)

    def __reduce__(self) -> tuple[Any, ...]:
        reduced = reduce_ndarray(self._memory)
        assert isinstance(reduced, tuple)  # the memory is shared: a handle
        return _rebuild, (reduced[1],)

    def __repr__(self) -> str:
        access = "writable" if self.writable else "read-only"
        return f"<memshare.ObjectRef: {format_bytes(self.nbytes)}, {access}>"


def _rebuild(arguments: tuple[Any, ...]) -> ObjectRef:
    memory = rebuild_ndarray(*arguments)
    if type(memory) is np.ndarray and not (
        memory.dtype == np.uint8 and memory.ndim == 1 and memory.flags.c_contiguous
    ):
        raise ValueError(
            f"an ObjectRef's handle is damaged: it names {memory.dtype} memory of "
            f"shape {memory.shape}, not a frame of bytes"
        )
    return ObjectRef(memory)  # in a pool's task loop, perhaps a stand-in


def put(obj: object, *, writable: bool = False) -> ObjectRef:
    """Place `obj` in shared memory and return a handle to it.

    `obj` is pickled at protocol 5: its out-of-band buffers (the data of
    NumPy arrays, pandas DataFrames and Series, Arrow arrays and tables,
    ``PickleBuffer`` and ``bytearray`` objects) are copied once into one
    shared segment beside the pickle.  ``ref.get()`` in any process rebuilds
    `obj` with those buffers as views of the segment, read-only unless
    `writable`.  An object without such buffers works too: the segment then
    holds its pickle.  ``put`` takes a snapshot: later changes to `obj` do
    not reach the ref.
    """
    arrow.register_if_loaded()
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    pieces, at, size = frames.parts(data, [buffer.raw() for buffer in buffers])
    memory = empty(size, np.uint8)
    prefault(memory)
    frames.fill_array(memory, pieces, at)
    memory.flags.writeable = writable
    return ObjectRef(memory)


def share(obj: Any, *, writable: bool = False) -> Any:
    """`obj` rebuilt over shared memory: ``put(obj, writable=...).get()``.

    ``df = ms.share(df)`` gives a DataFrame equal to `df` whose columns live in
    shared memory, so that sending it to a worker (a Pool task, a Queue, a
    Dask or Ray task) sends handles, not the data.
    """
    return put(obj, writable=writable).get()
