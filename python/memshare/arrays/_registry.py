"""The shared memory behind arrays in this process: which address ranges
belong to which segment, so that an array, or any view of it, can be sent to
another process as a handle to that segment rather than as its bytes."""

from __future__ import annotations

import bisect
import collections
import os
import threading
import weakref
from typing import Any, Literal, NamedTuple

import numpy.typing as npt

from .. import _core
from ..mapping import Mapping

Identity = tuple[int, int]  # (st_dev, st_ino) of the memory


class Source(NamedTuple):
    """Where the memory of a mapping comes from.

    Anonymous memory is a memfd, which the mapping keeps (its ``fileno()``)
    to send it to other processes.  Named memory is a POSIX shared memory
    object: its name finds it.  ``identity`` tells both apart from any other
    memory, and a named segment from a later one of the same name.
    """

    kind: Literal["anonymous", "named"]
    identity: Identity
    name: str | None = None


class Entry(NamedTuple):
    start: int
    end: int
    mapping: weakref.ref[Mapping]
    source: Source
    readonly: bool


# Tuples and plain weak references, not dataclasses and weakref.finalize:
# every array sent or received passes through here, and they cost a few
# microseconds each on that path.
_lock = threading.Lock()
_starts: list[int] = []  # sorted, to find the entry of an address
_entries: list[Entry] = []  # in the order of _starts
_by_identity: dict[Identity, list[Entry]] = {}  # to find a segment's mappings
_by_reference: dict[int, Entry] = {}  # id(entry.mapping): to forget it
# References whose mapping is gone, to forget.  The weak reference callback
# only queues them: the garbage collector may run it in a thread that holds
# _lock (any allocation under it can start a collection), which would then
# wait for itself.  Whoever holds the lock forgets them once it lets go.
_gone: collections.deque[weakref.ref[Mapping]] = collections.deque()


def _lease_to_child() -> None:
    # A forked child has every mapping this process has, and holds a lease on
    # each anonymous one as this process does (see arrays/array_memory.hpp): taken
    # before fork(), so that this process cannot recycle the memory while
    # the child starts.  A child that never lets go (multiprocessing's end
    # with os._exit) only keeps the memory from being recycled.
    with _lock:
        mappings = [e.mapping() for e in _entries if e.source.kind == "anonymous"]
    _forget_gone()
    for mapping in mappings:
        if mapping is not None and not mapping.closed:
            _core.add_lease(mapping)


def _reset_lock_in_child() -> None:
    # Another thread may have held the lock when this process forked.
    global _lock
    _lock = threading.Lock()


os.register_at_fork(before=_lease_to_child, after_in_child=_reset_lock_in_child)


def add(mapping: Mapping, source: Source) -> None:
    """Record `mapping` until it is gone (with the last array of it)."""
    start = mapping.address
    # The callback is a module function, so that no cycle keeps the entry
    # alive once it is forgotten.
    reference = weakref.ref(mapping, _forget)
    entry = Entry(
        start,
        start + len(mapping),
        reference,
        source,
        mapping.access == _core.ACCESS_READ,
    )
    with _lock:
        at = bisect.bisect(_starts, start)
        _starts.insert(at, start)
        _entries.insert(at, entry)
        _by_identity.setdefault(source.identity, []).append(entry)
        _by_reference[id(reference)] = entry
    _forget_gone()


def _forget(reference: weakref.ref[Mapping]) -> None:
    _gone.append(reference)
    _forget_gone()


def _forget_gone() -> None:
    """Forget the mappings that are gone; called after every hold of the
    lock.  A reference queued after the last holder looked is forgotten by
    the one that queued it: its acquire() comes after that release."""
    while _gone:
        if not _lock.acquire(blocking=False):
            return  # its holder forgets them when it lets go
        try:
            last = [_remove(_gone.popleft()) for _ in range(len(_gone))]
        finally:
            _lock.release()
        for identity in filter(None, last):
            # Handles of it sent from here may still be on their way: the
            # courier keeps its copy until they have been received.
            _core.withdraw_offers(identity)


def _remove(reference: weakref.ref[Mapping]) -> Identity | None:
    """Forget the entry of `reference` (under the lock): the identity of its
    anonymous memory if it was the last mapping of it here."""
    entry = _by_reference.pop(id(reference))
    identity = entry.source.identity
    same = _by_identity[identity]
    del same[next(i for i, e in enumerate(same) if e is entry)]
    at = bisect.bisect_left(_starts, entry.start)
    while _entries[at] is not entry:
        at += 1
    del _starts[at], _entries[at]
    if same:
        return None
    del _by_identity[identity]
    return identity if entry.source.kind == "anonymous" else None


def bounds(array: npt.NDArray[Any]) -> tuple[int, int]:
    """The first byte of `array` and the one past its last."""
    _, low, high, _ = _core.array_memory(array)
    return low, high


def find(array: npt.NDArray[Any]) -> tuple[Entry, Mapping] | None:
    """The entry, and its live mapping, that holds every byte of `array`."""
    return find_range(*bounds(array))


def find_range(low: int, high: int) -> tuple[Entry, Mapping] | None:
    """The entry, and its live mapping, that holds the bytes [low, high)."""
    with _lock:
        at = bisect.bisect_right(_starts, low) - 1
        entry = _entries[at] if at >= 0 else None
    _forget_gone()
    if entry is None:
        return None
    mapping = entry.mapping()
    if mapping is None or high > entry.end or mapping.closed:
        return None
    return entry, mapping


def find_identity(identity: Identity, readonly: bool) -> Mapping | None:
    """A live mapping of the memory `identity`, if this process has one."""
    with _lock:
        candidates = list(_by_identity.get(identity, ()))
    _forget_gone()
    for entry in candidates:
        mapping = entry.mapping()
        if (
            mapping is not None
            and not mapping.closed
            and (readonly or not entry.readonly)
        ):
            return mapping
    return None
