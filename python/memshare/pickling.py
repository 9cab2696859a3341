"""Sending shared arrays between processes as handles.

memshare registers a reducer for ``numpy.ndarray`` with multiprocessing's
pickler (not with :mod:`pickle`, so ``pickle.dumps`` still copies the data).
When multiprocessing sends an array (Process arguments, Pool, Queue, Pipe,
concurrent.futures), the reducer looks its bytes up among the shared memory
of this process.  If they lie in it, the array goes as a handle of a few
hundred bytes: the segment, where the array is in it, its dtype, shape and
strides.  Named memory goes by name.  Anonymous memory goes as its
descriptor: to a process being started, with the process (as multiprocessing
passes descriptors); otherwise as this process's descriptor number, which
the receiver opens through ``/proc/PID/fd``.  The first time a segment is
sent, this process's courier (see ``courier.hpp``) gets a copy of the
descriptor, to hand out if this process lets go of it or ends before the
receiver comes; later sends of it are only counted.  Any other array
pickles exactly as before.

The receiver maps each segment once, however many arrays of it arrive, and
keeps one descriptor per anonymous segment (to send it on), so thousands of
arrays need no more descriptors than the segments behind them.
"""

from __future__ import annotations

import errno
import os
import pickle
import resource
import weakref
from multiprocessing import context, reduction
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from . import _core, _registry
from .mapping import Mapping
from .shm import _encode

__all__: list[str] = []


class _Detachable(Protocol):
    def detach(self) -> int: ...


# An anonymous segment offered to this process's courier: its address, the
# offer's token, and the sender's pid and descriptor number (see
# courier.hpp).  A plain tuple: a class would be pickled by name, and looked
# up by name on arrival, at every hand-off.
Offer = tuple[bytes, bytes, int, int]

# How the segment of an array reaches the receiver (an offer, a descriptor
# inherited with the process, or a name), and which segment it is.
Reference = tuple[Offer | _Detachable | str, _registry.Identity]

# The descriptors already given to each process being started.  spawn refuses
# a descriptor listed twice, so every view of one segment shares one entry.
_given: weakref.WeakKeyDictionary[Any, dict[int, _Detachable]] = (
    weakref.WeakKeyDictionary()
)


def _anonymous_reference(
    fd: _core.FileDescriptor, identity: _registry.Identity
) -> Reference:
    popen = context.get_spawning_popen()
    if popen is None:
        return _core.offer_descriptor(fd.fileno(), identity), identity
    # Sent with a process being started: it inherits the descriptor.
    given = _given.setdefault(popen, {})
    if fd.fileno() not in given:
        given[fd.fileno()] = reduction.DupFd(fd.fileno())
    return given[fd.fileno()], identity


def _descriptor_limit() -> str:
    # Said without opening anything: at the limit, /proc/self/fd cannot be listed.
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return (
        f"RLIMIT_NOFILE is {soft}; each live anonymous shared array holds a descriptor"
    )


def _compact(dtype: np.dtype[Any]) -> np.dtype[Any] | str:
    # A plain dtype goes as its string ("<f8"), which is smaller and quicker
    # to rebuild than the pickled dtype object; structured ones and those
    # with metadata go whole.
    if dtype.isbuiltin == 1:
        return dtype.char  # "d": the quickest to read, and exact ("l" is not "q")
    if dtype.fields is None and dtype.subdtype is None and dtype.metadata is None:
        return str(dtype.str)
    return dtype


def reduce_ndarray(array: npt.NDArray[Any]) -> str | tuple[Any, ...]:
    data, low, high, writeable = _core.array_memory(array)
    found = _registry.find_range(low, high)
    if found is None:
        return array.__reduce_ex__(pickle.DEFAULT_PROTOCOL)  # as before memshare
    entry, mapping = found
    source = entry.source
    reference: Reference
    if source.kind == "anonymous":
        assert source.fd is not None
        # Failures name the limit they hit (the core says which).
        reference = _anonymous_reference(source.fd, source.identity)
    else:
        assert source.name is not None
        reference = (source.name, source.identity)
    return rebuild_ndarray, (
        reference,
        len(mapping),
        data - entry.start,
        array.shape,
        array.strides,
        _compact(array.dtype),
        not writeable,
    )


def _decline(reference: Reference) -> None:
    """Let go of the descriptor `reference` brings, for memory already mapped."""
    handle, identity = reference
    if isinstance(handle, tuple):
        address, token, _, _ = handle
        _core.release_offer(address, token)  # the courier may drop its copy
        return
    assert not isinstance(handle, str)
    # Inherited with this process: close it, unless it is the one kept for
    # the segment (several arrays of it name the same descriptor).
    taken = handle.detach()
    if not _registry.holds(identity, taken):
        os.close(taken)


def _map_inherited(
    handle: _Detachable, length: int
) -> tuple[_core.FileDescriptor, _core.Mapping]:
    try:
        fd = _core.FileDescriptor(handle.detach())
    except RuntimeError as error:
        # "received 0 items of ancdata" from multiprocessing: no descriptor
        # fitted in this process.
        raise OSError(
            errno.EMFILE,
            f"cannot receive a shared array: {error} ({_descriptor_limit()})",
        ) from error
    return fd, _core.map_shared(fd.fileno(), length, False)


def _map_anonymous(reference: Reference, length: int) -> Mapping:
    handle, identity = reference
    if isinstance(handle, tuple):
        fd, raw = _core.receive_shared(*handle, identity, length)
    else:
        assert not isinstance(handle, str)
        fd, raw = _map_inherited(handle, length)
    mapping = Mapping(raw)
    _registry.add(mapping, _registry.Source("anonymous", identity, fd=fd))
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
    has one (each segment is mapped once), else a new one."""
    handle, identity = reference
    mapping = _registry.find_identity(identity, readonly)
    if isinstance(handle, str):
        return mapping or _open_named(handle, identity, readonly)
    if mapping is not None:
        _decline(reference)
        return mapping
    return _map_anonymous(reference, length)


def rebuild_ndarray(
    reference: Reference,
    length: int,
    offset: int,
    shape: tuple[int, ...],
    strides: tuple[int, ...],
    dtype: np.dtype[Any] | str,
    readonly: bool,
) -> npt.NDArray[Any]:
    mapping = _receive(reference, length, readonly)
    # A memoryview as the buffer, so that the array holds an export of the
    # mapping and the mapping cannot be closed under it.
    array: npt.NDArray[Any] = np.ndarray(
        shape, dtype, buffer=memoryview(mapping), offset=offset, strides=strides
    )
    if readonly:
        array.flags.writeable = False
    return array


def register() -> None:
    """Have multiprocessing send shared arrays as handles (done on import)."""
    reduction.ForkingPickler.register(np.ndarray, reduce_ndarray)
