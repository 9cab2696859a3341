"""``ms.Queue``: a queue in shared memory with multiprocessing.Queue's
interface.

Items are pickled by multiprocessing's pickler (protocol 5), so shared
arrays inside them go as handles, and written into a ring of bytes in
shared memory: one copy in, one copy out, no pipe and no feeder thread.  An
item larger than the ring goes into shared memory of its own and only its
handle into the ring, so no item is ever too large.

One robust lock guards the ring; a put or get changes the ring's indices
only after its copy is done, so a process killed in the middle of one
leaves the ring as it was: the next to take the lock is told
(OwnerDiedError), finds the ring consistent and goes on.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import pickle
import queue
import time
from multiprocessing.reduction import ForkingPickler
from typing import Any

import numpy as np

from ._placement import refuse_pickle, seconds, send_as_handles
from .array import array as shared_array
from .array import empty, is_shared, zeros
from .conditions import Condition, condition_size
from .locks import LOCK_SIZE, Lock, OwnerDiedError
from .pickling import reduce_ndarray

__all__ = ["Queue"]

MAX_WAITERS = 256  # processes waiting to put, or to get, at once
LENGTH = 8  # bytes of the length before each item in the ring
# Length bits: the item is a handle to shared memory that holds it (it did
# not fit the ring); the item is a pickle and the buffers it took out of band.
SPILLED = 1 << 63
OUT_OF_BAND = 1 << 62
FLAGS = SPILLED | OUT_OF_BAND
BIG = 64 << 10  # buffers of this many bytes in all go in shared memory

# Where things lie in the queue's shared memory.
_NOT_EMPTY = LOCK_SIZE
_NOT_FULL = _NOT_EMPTY + condition_size(MAX_WAITERS)
_STATE = _NOT_FULL + condition_size(MAX_WAITERS)  # head, tail, count, used
_RING = _STATE + 64


class Queue:
    """A FIFO queue in shared memory: :class:`multiprocessing.Queue`'s
    interface (``queue.Full`` and ``queue.Empty``, blocking for ever by
    default), for any process it is sent to (as Process arguments, through
    a Pool, another queue, ...; under fork, spawn and forkserver).

    ``maxsize`` bounds the items (0: only the ring's size does);
    ``capacity_bytes`` is the size of the ring the pickled items wait in.
    """

    __module__ = "memshare"

    def __init__(self, maxsize: int = 0, *, capacity_bytes: int = 1 << 20) -> None:
        if maxsize < 0:
            raise ValueError(f"maxsize must not be negative, not {maxsize}")
        if capacity_bytes < 4 * LENGTH:
            raise ValueError(
                f"capacity_bytes must be at least 32, not {capacity_bytes}"
            )
        memory = zeros(_RING + capacity_bytes, np.uint8)
        lock = Lock(buffer=memory, offset=0)
        self._setup(
            memory,
            lock,
            Condition(lock, max_waiters=MAX_WAITERS, buffer=memory, offset=_NOT_EMPTY),
            Condition(lock, max_waiters=MAX_WAITERS, buffer=memory, offset=_NOT_FULL),
            maxsize,
        )

    def _setup(
        self,
        memory: np.ndarray[Any, Any],
        lock: Lock,
        not_empty: Condition,
        not_full: Condition,
        maxsize: int,
    ) -> None:
        self._memory = memory
        self._lock = lock
        self._not_empty = not_empty
        self._not_full = not_full
        self._maxsize = maxsize
        self._state = memory[_STATE : _STATE + 32].view(np.int64)
        self._ring = memory[_RING:]
        self._closed = False

    @classmethod
    def _attach(cls, memory: np.ndarray[Any, Any], maxsize: int) -> Queue:
        found = cls.__new__(cls)
        lock = Lock.at(memory, 0)
        found._setup(
            memory,
            lock,
            Condition.at(memory, _NOT_EMPTY, lock),
            Condition.at(memory, _NOT_FULL, lock),
            maxsize,
        )
        return found

    def __reduce__(self) -> Any:
        return refuse_pickle("Queue")

    def __repr__(self) -> str:
        return f"<memshare.Queue maxsize={self._maxsize} capacity={len(self._ring)}>"

    # -- the ring, with the lock held -------------------------------------------

    def _free(self) -> int:
        return len(self._ring) - int(self._state[3])

    def _copy_in(self, at: int, data: memoryview | bytes) -> int:
        ring, size = self._ring, len(self._ring)
        source = np.frombuffer(data, np.uint8)
        first = min(len(source), size - at)
        ring[at : at + first] = source[:first]
        ring[: len(source) - first] = source[first:]
        return (at + len(source)) % size

    def _copy_out(self, at: int, count: int) -> tuple[bytes, int]:
        ring, size = self._ring, len(self._ring)
        first = min(count, size - at)
        data = ring[at : at + first].tobytes() + ring[: count - first].tobytes()
        return data, (at + count) % size

    # -- waiting ----------------------------------------------------------------

    def _take_lock(self, deadline: float | None, error: type[Exception]) -> None:
        """Take the lock (nobody holds it longer than a copy, so even a
        non-blocking call waits for it), or raise `error` at the deadline."""
        left = _left(deadline)
        try:
            taken = self._lock.acquire(True, -1 if left is None else left)
        except OwnerDiedError:
            taken = True  # a process died in a put or get: the ring is as it was
        if not taken:
            raise error

    def _wait(
        self,
        condition: Condition,
        block: bool,
        deadline: float | None,
        error: type[Exception],
    ) -> None:
        left = _left(deadline)
        if not block or (left is not None and left <= 0):
            raise error
        # Held again either way; if a process died in a put or get meanwhile,
        # the ring is as it was.
        with contextlib.suppress(OwnerDiedError):
            condition.wait(left)

    # -- the interface of multiprocessing.Queue ----------------------------------

    def put(
        self, obj: object, block: bool = True, timeout: float | None = None
    ) -> None:
        """Put `obj` into the queue; with `block`, wait up to `timeout`
        seconds (None: for ever) for room, else raise ``queue.Full``."""
        if self._closed:
            raise ValueError(f"Queue {self!r} is closed")
        data, length = _encode(obj, len(self._ring) - LENGTH)
        need = LENGTH + len(data)
        deadline = _deadline(block, timeout)
        self._take_lock(deadline, queue.Full)
        try:
            while (
                self._maxsize and self._state[2] >= self._maxsize
            ) or self._free() < need:
                self._wait(self._not_full, block, deadline, queue.Full)
            tail = self._copy_in(int(self._state[1]), length.to_bytes(LENGTH, "little"))
            self._state[1] = self._copy_in(tail, data)
            self._state[3] += need
            self._state[2] += 1
            self._not_empty.notify()
        finally:
            self._lock.release()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """Take the oldest item; with `block`, wait up to `timeout` seconds
        (None: for ever) for one, else raise ``queue.Empty``."""
        deadline = _deadline(block, timeout)
        self._take_lock(deadline, queue.Empty)
        try:
            while self._state[2] == 0:
                self._wait(self._not_empty, block, deadline, queue.Empty)
            header, head = self._copy_out(int(self._state[0]), LENGTH)
            length = int.from_bytes(header, "little")
            data, head = self._copy_out(head, length & ~FLAGS)
            self._state[0] = head
            self._state[3] -= LENGTH + (length & ~FLAGS)
            self._state[2] -= 1
            self._not_full.notify_all()  # each waiter checks whether it fits
        finally:
            self._lock.release()
        return _decode(data, length & FLAGS)

    def put_nowait(self, obj: object) -> None:
        self.put(obj, False)

    def get_nowait(self) -> Any:
        return self.get(False)

    def qsize(self) -> int:
        """How many items wait now (another process may change that at
        once)."""
        return int(self._state[2])

    def empty(self) -> bool:
        return self.qsize() == 0

    def full(self) -> bool:
        return bool(self._maxsize) and self.qsize() >= self._maxsize

    def close(self) -> None:
        """This process will put nothing more (put raises ValueError)."""
        self._closed = True

    def join_thread(self) -> None:
        """Nothing to join: memshare's queue has no feeder thread."""

    def cancel_join_thread(self) -> None:
        """Nothing to cancel: memshare's queue has no feeder thread."""


class _ItemPickler(ForkingPickler):
    """multiprocessing's pickler at protocol 5, with the data of NumPy
    arrays that are not shared handed out of band (shared ones go as
    handles, as through any multiprocessing channel)."""

    def __init__(self, file: io.BytesIO, buffers: list[pickle.PickleBuffer]) -> None:
        # ForkingPickler takes its arguments by position only.
        super().__init__(file, 5, True, buffers.append)
        self.dispatch_table[np.ndarray] = _reduce_array


def _reduce_array(array: np.ndarray[Any, Any]) -> Any:
    return reduce_ndarray(array) if is_shared(array) else array.__reduce_ex__(5)


def _encode(obj: object, room: int) -> tuple[memoryview | bytes, int]:
    """The bytes that carry `obj` through the ring, with their flags set in
    their length."""
    file, buffers = io.BytesIO(), list[pickle.PickleBuffer]()
    _ItemPickler(file, buffers).dump(obj)
    data: memoryview | bytes = file.getbuffer()
    flags = 0
    if buffers:
        raws = [buffer.raw() for buffer in buffers]
        sizes = [raw.nbytes for raw in raws]
        carried: Any = [raw.tobytes() for raw in raws]
        if sum(sizes) >= BIG:  # one copy into shared memory, none out
            carried = empty(sum(sizes), np.uint8)
            for raw, at in zip(raws, itertools.accumulate([0, *sizes]), strict=False):
                carried[at : at + raw.nbytes] = np.frombuffer(raw, np.uint8)
        data, flags = ForkingPickler.dumps((bytes(data), carried, sizes)), OUT_OF_BAND
    if len(data) > room:
        spill = shared_array(np.frombuffer(data, np.uint8))
        data, flags = ForkingPickler.dumps((spill, flags)), SPILLED
    return data, len(data) | flags


def _decode(data: bytes | memoryview, flags: int) -> Any:
    if flags & SPILLED:
        spill, flags = ForkingPickler.loads(data)
        data = memoryview(spill)  # read where it lies: no copy
    if not flags & OUT_OF_BAND:
        return ForkingPickler.loads(data)
    pickled, carried, sizes = ForkingPickler.loads(data)
    if isinstance(carried, np.ndarray):  # views of the shared memory: no copy
        starts = itertools.accumulate([0, *sizes])
        carried = [
            carried[at : at + size] for at, size in zip(starts, sizes, strict=False)
        ]
    return pickle.loads(pickled, buffers=carried)


def _deadline(block: bool, timeout: object) -> float | None:
    """When a wait must end (None: never); timeouts as threading takes them."""
    left = seconds(timeout)
    return None if not block or left is None else time.monotonic() + left


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


def _reduce_queue(q: Queue) -> tuple[Any, ...]:
    return Queue._attach, (q._memory, q._maxsize)


def register() -> None:
    """Have multiprocessing send queues as handles (done on import)."""
    send_as_handles(Queue, _reduce_queue)
