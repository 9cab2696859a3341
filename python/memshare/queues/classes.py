"""``ms.Queue``, ``ms.SimpleQueue`` and ``ms.JoinableQueue``: queues in
shared memory with the interfaces of multiprocessing's.

Items are pickled (see ``queue_items``) and their records copied through a
ring of bytes in shared memory, whose core (``queue/shared_queue.hpp``) waits
without the GIL, spinning briefly first: one copy in, one copy out, no
pipe and no feeder thread.  A robust lock guards the ring and each put or
take commits with one store, so a process killed in the middle of one
stops nobody: a producer loses only the item it was putting, a consumer
loses nothing.
"""

from __future__ import annotations

import contextlib
import operator
import queue
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _core
from ..arrays.constructors import zeros
from ..sync._placement import refuse_pickle, seconds, send_as_handles
from ..sync.atomics import ATOMIC_SIZE, AtomicInt
from ..sync.conditions import Condition, condition_size
from ..sync.locks import LOCK_SIZE, Lock, OwnerDiedError
from .items import decode, encode, take_back

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from .items import Record

__all__ = ["JoinableQueue", "Queue", "SimpleQueue"]

_HEADER: int = _core.SharedQueue.header_size
_RECORD: int = _core.SharedQueue.record_header
_WAITERS = 256  # processes in JoinableQueue.join() at once


class Queue:
    """A FIFO queue in shared memory: :class:`multiprocessing.Queue`'s
    interface (``queue.Full`` and ``queue.Empty``, blocking for ever by
    default), plus :meth:`put_many` and :meth:`get_many`, for any process
    it is sent to (as Process arguments, through a Pool, another queue, ...;
    under fork, spawn and forkserver).

    ``maxsize`` bounds the items (0 or less: only the ring's size does);
    ``capacity_bytes`` is the size of the ring the pickled items wait in.
    An item too large for the ring still goes, through shared memory of its
    own; so do NumPy arrays of 64 KiB or more, received as views of it.
    """

    __module__ = "memshare"

    def __init__(self, maxsize: int = 0, *, capacity_bytes: int = 1 << 20) -> None:
        maxsize, capacity_bytes = (
            operator.index(maxsize),
            operator.index(capacity_bytes),
        )
        if capacity_bytes < 4 * _RECORD:
            raise ValueError(
                f"capacity_bytes must be at least {4 * _RECORD}, not {capacity_bytes}"
            )
        memory = zeros(_HEADER + capacity_bytes, np.uint8)
        # As the standard library's queues: 0 or less is unbounded.
        self._setup(_core.SharedQueue(memory, max(maxsize, 0), True))

    def _setup(self, core: _core.SharedQueue) -> None:
        self._core = core
        self._largest = core.largest
        self._closed = False

    @classmethod
    def _attach(cls, memory: np.ndarray[Any, Any]) -> Any:
        found = cls.__new__(cls)
        found._setup(_core.SharedQueue(memory, 0, False))
        return found

    def __reduce__(self) -> Any:
        return refuse_pickle(type(self).__name__)

    def __repr__(self) -> str:
        return (
            f"<memshare.{type(self).__name__} maxsize={self._core.maxsize} "
            f"capacity_bytes={self._core.capacity} items={self.qsize()}>"
        )

    def put(
        self, obj: object, block: bool = True, timeout: float | None = None
    ) -> None:
        """Put `obj` into the queue; with `block`, wait up to `timeout`
        seconds (None: for ever) for room, else raise ``queue.Full``."""
        self._check_open()
        payload, flags = encode(obj, self._largest)
        done = False
        try:
            done = self._put_one(payload, flags, block, seconds(timeout))
        finally:
            if not done:
                take_back([(payload, flags)])
        if not done:
            raise queue.Full

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """Take the oldest item; with `block`, wait up to `timeout` seconds
        (None: for ever) for one, else raise ``queue.Empty``."""
        self._check_open()
        got = self._core.get(block, seconds(timeout))
        if got is None:
            raise queue.Empty
        return decode(*got)

    def put_many(
        self, items: Iterable[object], block: bool = True, timeout: float | None = None
    ) -> None:
        """Put `items` in order, as one if they fit the queue together
        (nobody's items come between them then), else as many at a time as
        fit.  ``queue.Full`` if `timeout` passes first: it says how many
        went in."""
        self._check_open()
        records = [encode(item, self._largest) for item in items]
        done, stopped = self._put_records(records, block, seconds(timeout))
        take_back(records[done:])
        if stopped is not None:  # Ctrl-C, say
            raise stopped
        if done < len(records):
            raise queue.Full(f"{done} of the {len(records)} items were put")

    def get_many(
        self,
        max_items: int | None = None,
        block: bool = True,
        timeout: float | None = None,
    ) -> list[Any]:
        """Take the oldest items, all there are up to `max_items` (None: no
        bound); with `block`, wait up to `timeout` seconds (None: for ever)
        for at least one, else raise ``queue.Empty``."""
        self._check_open()
        if max_items is not None and max_items < 1:
            raise ValueError(f"max_items must be at least 1, not {max_items}")
        most = (1 << 63) if max_items is None else max_items
        got = self._core.get_many(most, block, seconds(timeout))
        if not got:
            raise queue.Empty
        return [decode(*record) for record in got]

    def put_nowait(self, obj: object) -> None:
        self.put(obj, False)

    def get_nowait(self) -> Any:
        return self.get(False)

    def qsize(self) -> int:
        """How many items wait now (another process may change that at
        once)."""
        return self._core.qsize()

    def empty(self) -> bool:
        return self.qsize() == 0

    def full(self) -> bool:
        maxsize = self._core.maxsize
        return bool(maxsize) and self.qsize() >= maxsize

    def close(self) -> None:
        """This process is done with the queue: put and get raise
        ValueError, as multiprocessing's do; other processes go on."""
        self._closed = True

    def join_thread(self) -> None:
        """Nothing to join: memshare's queue has no feeder thread."""

    def cancel_join_thread(self) -> None:
        """Nothing to cancel: memshare's queue has no feeder thread."""

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"{self!r} is closed")

    # What puts go through (JoinableQueue counts them): whether the record
    # went in; how many did, and what stopped them (if anything did).
    def _put_one(
        self, payload: Buffer, flags: int, block: bool, left: float | None
    ) -> bool:
        return self._core.put(payload, flags, block, left)

    def _put_records(
        self, records: list[Record], block: bool, left: float | None
    ) -> tuple[int, BaseException | None]:
        done, stopped = self._core.put_many(records, block, left)
        return done, stopped


class SimpleQueue(Queue):
    """:class:`multiprocessing.SimpleQueue`'s interface (``put``, ``get``,
    ``empty``, ``close``) over the ring of :class:`Queue`, whose other
    methods it has too; unbounded but for its ring's size."""

    __module__ = "memshare"

    def __init__(self, *, capacity_bytes: int = 1 << 20) -> None:
        super().__init__(0, capacity_bytes=capacity_bytes)

    def empty(self) -> bool:
        self._check_open()
        return super().empty()

    def _check_open(self) -> None:
        # multiprocessing.SimpleQueue's methods raise OSError once it is
        # closed (its pipe's), unlike Queue's.
        if self._closed:
            raise OSError(f"{self!r} is closed")


class JoinableQueue(Queue):
    """:class:`multiprocessing.JoinableQueue`: a :class:`Queue` that counts
    the items put and not yet marked done by :meth:`task_done`, so that
    :meth:`join` can wait for all of them."""

    __module__ = "memshare"

    def __init__(self, maxsize: int = 0, *, capacity_bytes: int = 1 << 20) -> None:
        super().__init__(maxsize, capacity_bytes=capacity_bytes)
        # The count of unfinished tasks, then the lock and condition joiners
        # wait on, in shared memory of their own.
        tasks = zeros(ATOMIC_SIZE + LOCK_SIZE + condition_size(_WAITERS), np.uint8)
        lock = Lock(buffer=tasks, offset=ATOMIC_SIZE)
        condition = Condition(
            lock, max_waiters=_WAITERS, buffer=tasks, offset=ATOMIC_SIZE + LOCK_SIZE
        )
        self._join_setup(tasks, AtomicInt(0, buffer=tasks), condition)

    def _join_setup(
        self, tasks: np.ndarray[Any, Any], unfinished: AtomicInt, done: Condition
    ) -> None:
        self._tasks = tasks
        self._unfinished = unfinished
        self._done = done

    @classmethod
    def _attach_joinable(
        cls, memory: np.ndarray[Any, Any], tasks: np.ndarray[Any, Any]
    ) -> JoinableQueue:
        found: JoinableQueue = cls._attach(memory)
        lock = Lock.at(tasks, ATOMIC_SIZE)
        found._join_setup(
            tasks,
            AtomicInt.at(tasks),
            Condition.at(tasks, ATOMIC_SIZE + LOCK_SIZE, lock),
        )
        return found

    def task_done(self) -> None:
        """An item taken is done with; ``ValueError`` if called more times
        than items were put."""
        if not self._finish(1):
            raise ValueError("task_done() called too many times")

    def join(self) -> None:
        """Wait until every item put has been marked done."""
        with self._holding():
            while self._unfinished.load() != 0:
                with contextlib.suppress(OwnerDiedError):  # held again anyway
                    self._done.wait()

    # Counted before they go in, so that join() never sees none while an
    # item waits; what did not go in is uncounted.
    def _put_one(
        self, payload: Buffer, flags: int, block: bool, left: float | None
    ) -> bool:
        done, stopped = self._put_records([(payload, flags)], block, left)
        if stopped is not None:
            raise stopped
        return done == 1

    def _put_records(
        self, records: list[Record], block: bool, left: float | None
    ) -> tuple[int, BaseException | None]:
        self._unfinished.add(len(records))
        done = 0  # if the core raises, before putting any
        try:
            done, stopped = super()._put_records(records, block, left)
        finally:
            if done < len(records):
                self._finish(len(records) - done)
        return done, stopped

    def _finish(self, count: int) -> bool:
        """Counts `count` tasks done (False, and none, if fewer are
        unfinished); wakes the joiners when none is left."""
        with self._holding():
            left = self._unfinished.load()
            if left < count:
                return False
            if self._unfinished.add(-count) == 0:
                self._done.notify_all()
        return True

    @contextlib.contextmanager
    def _holding(self) -> Iterator[None]:
        """The joiners' lock (the count is atomic: whole even if a holder
        died)."""
        with contextlib.suppress(OwnerDiedError):
            self._done.acquire()
        try:
            yield
        finally:
            self._done.release()


def _reduce_queue(q: Queue) -> tuple[Any, ...]:
    return type(q)._attach, (q._core.cell,)


def _reduce_joinable(q: JoinableQueue) -> tuple[Any, ...]:
    return JoinableQueue._attach_joinable, (q._core.cell, q._tasks)


def register() -> None:
    """Have multiprocessing send queues as handles (done on import)."""
    send_as_handles(Queue, _reduce_queue)
    send_as_handles(SimpleQueue, _reduce_queue)
    send_as_handles(JoinableQueue, _reduce_joinable)
