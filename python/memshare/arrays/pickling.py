"""Sending shared arrays between processes as handles.

memshare registers a reducer for ``numpy.ndarray`` with multiprocessing's
pickler (not with :mod:`pickle`, so ``pickle.dumps`` still copies the data).
When multiprocessing sends an array (Process arguments, Pool, Queue, Pipe,
concurrent.futures), the reducer looks its bytes up among the shared memory
of this process.  If they lie in it, the array goes as a handle of a few
hundred bytes: the segment, where the array is in it, its dtype, shape and
strides.  Named memory goes by name.  Anonymous memory goes as this
process's descriptor number, which the receiver opens through
``/proc/PID/fd``, to a process being started as to any other.  The first
time a segment is sent, this process's courier (see ``arrays/courier.hpp``) gets a
copy of the descriptor, to hand out if this process lets go of it or ends
before the receiver comes; later sends of it are only counted.  Any other
array pickles exactly as before.

The receiver maps each segment once, however many arrays of it arrive, and
keeps one descriptor per anonymous segment (to send it on), so thousands of
arrays need no more descriptors than the segments behind them.  When the
last array of an anonymous segment it received goes, the segment stays
mapped for a moment (see ``arrays/parked_segments.hpp``): the next task of a
``Pool.map`` over the same array finds it mapped, its pages still in place.
Out of descriptors, a receiver unmaps what it keeps for reuse and tries
again; in a pool worker, an array it cannot receive becomes a stand-in that
raises why (see ``_unreceived.py``), so the task fails instead of being lost.
"""

from __future__ import annotations

import errno
import pickle
from multiprocessing import reduction
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _core
from ..mapping import Mapping
from ..shm.calls import _encode
from . import _registry
from ._unreceived import UnreceivedArray, in_task_loop
from .recycling import release_unused

__all__: list[str] = []


# An anonymous segment offered to this process's courier: its address, the
# offer's token, and the sender's pid and descriptor number (see
# arrays/courier.hpp).  A plain tuple: a class would be pickled by name, and looked
# up by name on arrival, at every hand-off.
Offer = tuple[bytes, bytes, int, int]

# How the segment of an array reaches the receiver (an offer, or a name), and
# which segment it is.
Reference = tuple[Offer | str, _registry.Identity]


def _compact(dtype: np.dtype[Any]) -> np.dtype[Any] | str:
    # A plain dtype goes as its string ("<f8"), which is smaller and quicker
    # to rebuild than the pickled dtype object; structured ones and those
    # with metadata go whole.
    if dtype.isbuiltin == 1:
        return dtype.char  # "d": the quickest to read, and exact ("l" is not "q")
    if dtype.fields is None and dtype.subdtype is None and dtype.metadata is None:
        return str(dtype.str)
    return dtype


def reduce_ndarray(
    array: npt.NDArray[Any], protocol: int = pickle.DEFAULT_PROTOCOL
) -> str | tuple[Any, ...]:
    """A handle of `array` if memshare shares its memory, else its reduction
    at `protocol` (as before memshare)."""
    data, low, high, writeable = _core.array_memory(array)
    found = _registry.find_range(low, high)
    if found is None:
        return array.__reduce_ex__(protocol)
    entry, mapping = found
    source = entry.source
    handle: Offer | str
    if source.name is None:
        # Anonymous memory: the mapping keeps its memfd.  Failures name the
        # limit they hit (the core says which).
        handle = _core.offer_array_memory(mapping, source.identity)
    else:
        handle = source.name
    return rebuild_ndarray, (
        (handle, source.identity),
        entry.end - entry.start,
        data - entry.start,
        array.shape,
        array.strides,
        _compact(array.dtype),
        not writeable,
    )


def _map_offered(offer: Offer, identity: _registry.Identity, length: int) -> Mapping:
    mapping = Mapping(_core.receive_shared(*offer, identity, length))
    _registry.add(mapping, _registry.Source("anonymous", identity))
    return mapping


def _open_named(name: str, identity: _registry.Identity, readonly: bool) -> Mapping:
    bare, raw, found = _core.open_segment(_encode(name), readonly, keep_fd=False)
    if found != identity:
        raise ValueError(
            f"the shared array's segment {bare!r} was removed and made again since the "
            "array was sent: its data is gone"
        )
    mapping = Mapping(raw)
    _registry.add(mapping, _registry.Source("named", identity, name=bare))
    return mapping


def _receive(reference: Reference, length: int, readonly: bool) -> Mapping:
    """The mapping of the segment `reference` names: this process's own if it
    has one (each segment is mapped once), else a new one.  Out of
    descriptors, it frees those of the segments kept for reuse, and tries
    again."""
    try:
        return _receive_once(reference, length, readonly)
    except OSError as error:
        if error.errno not in (errno.EMFILE, errno.ENFILE) or not release_unused():
            raise
    return _receive_once(reference, length, readonly)


def _receive_once(reference: Reference, length: int, readonly: bool) -> Mapping:
    handle, identity = reference
    mapping = _registry.find_identity(identity, readonly)
    if isinstance(handle, str):
        return mapping or _open_named(handle, identity, readonly)
    if mapping is not None:
        address, token, _, _ = handle
        # This process holds a lease already, and its courier may drop its copy.
        _core.handle_returned(mapping, address, token)
        return mapping
    return _map_offered(handle, identity, length)


def _damaged(what: str) -> ValueError:
    return ValueError(f"a shared array's handle is damaged: {what}")


def _is_index(value: object) -> bool:
    return type(value) is int and value >= 0


def _check_reference(reference: object, length: object) -> None:
    """Refuses a reference no memshare process could have made, before any of
    it is used."""
    if not (isinstance(reference, tuple) and len(reference) == 2):
        raise _damaged("its reference is not a (handle, identity) pair")
    handle, identity = reference
    if not (
        isinstance(identity, tuple)
        and len(identity) == 2
        and all(map(_is_index, identity))
    ):
        raise _damaged(f"its memory's identity {identity!r} is not (device, inode)")
    if not isinstance(handle, str) and not (
        isinstance(handle, tuple)
        and len(handle) == 4
        and all(isinstance(part, bytes) for part in handle[:2])
        and type(handle[2]) is int
        and handle[2] > 0
        and _is_index(handle[3])
    ):
        raise _damaged("it names its memory neither by name nor by an offer")
    if not (isinstance(length, int) and _is_index(length) and length > 0):
        raise _damaged(f"its memory cannot be {length!r} bytes long")


def _check_layout(
    length: int, offset: object, shape: object, strides: object, dtype: object
) -> np.dtype[Any]:
    """The dtype of an array of this layout, or ValueError unless every element
    of it lies inside the `length` bytes of its memory and holds no objects
    (an object array over shared bytes would follow whatever pointers they
    hold)."""
    try:
        resolved: np.dtype[Any] = np.dtype(dtype)  # type: ignore[call-overload]
    except (TypeError, ValueError) as error:
        raise _damaged(f"its dtype {dtype!r} is none ({error})") from None
    if resolved.hasobject:
        raise _damaged(f"its dtype {resolved} holds Python objects")
    if not (
        isinstance(shape, tuple)
        and isinstance(strides, tuple)
        and len(shape) == len(strides) <= 64
        and all(map(_is_index, shape))
        and all(type(stride) is int for stride in strides)
        and type(offset) is int
    ):
        raise _damaged(f"its shape {shape!r} and strides {strides!r} do not match")
    low = high = offset
    if 0 not in shape:
        for size, stride in zip(shape, strides, strict=True):
            reach = (size - 1) * stride
            low, high = low + min(reach, 0), high + max(reach, 0)
        high += resolved.itemsize
    if low < 0 or high > length:
        raise _damaged(
            f"its elements reach bytes {low} to {high} of memory {length} bytes long"
        )
    return resolved


def rebuild_ndarray(
    reference: Reference,
    length: int,
    offset: int,
    shape: tuple[int, ...],
    strides: tuple[int, ...],
    dtype: np.dtype[Any] | str,
    readonly: bool,
) -> npt.NDArray[Any]:
    try:
        _check_reference(reference, length)
        resolved = _check_layout(length, offset, shape, strides, dtype)
        mapping = _receive(reference, length, bool(readonly))
        if len(mapping) < length:
            raise _damaged(
                f"it says its memory is {length} bytes, but it is {len(mapping)}"
            )
    except Exception as error:
        if in_task_loop():  # raised there, it would lose the task
            return UnreceivedArray(error)  # type: ignore[return-value]
        raise
    # A memoryview as the buffer, so that the array holds an export of the
    # mapping and the mapping cannot be closed under it.
    array: npt.NDArray[Any] = np.ndarray(
        shape, resolved, buffer=memoryview(mapping), offset=offset, strides=strides
    )
    if readonly:
        array.flags.writeable = False
    return array


def register() -> None:
    """Have multiprocessing send shared arrays as handles (done on import)."""
    reduction.ForkingPickler.register(np.ndarray, reduce_ndarray)
