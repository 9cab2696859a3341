"""Condition variables and barriers in shared memory, with
:class:`threading.Condition`'s and :class:`threading.Barrier`'s interfaces.

A :class:`Condition` works with any memshare :class:`~memshare.Lock` or
:class:`~memshare.RLock`.  Each waiter takes a slot of the Condition's cell and sleeps on it, as
threading gives each waiter a lock of its own: ``notify(n)`` wakes exactly
``n`` waiters, the oldest first, and passes over waiters whose process was
killed, so a dead waiter never swallows a wake-up.  The cell has room for
``max_waiters`` waiters at once (64 unless told).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .. import _core
from ._placement import Cell, Placed, cell_in, seconds, send_as_handles
from .locks import Lock, RLock

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["BARRIER_SIZE", "Barrier", "Condition", "condition_size"]

BARRIER_SIZE: int = _core.BARRIER_SIZE  # bytes a Barrier takes in a buffer

T = TypeVar("T")
AnyLock = Lock | RLock


def condition_size(max_waiters: int = 64) -> int:
    """Bytes a :class:`Condition` with room for `max_waiters` takes in a
    buffer."""
    return _core.condition_size(max_waiters)


def _release_all(lock: AnyLock) -> int:
    """Release every hold this thread has on `lock`: how many."""
    if isinstance(lock, RLock):
        return lock._release_save()
    lock.release()
    return 1


def _take_back(lock: AnyLock, depth: int) -> None:
    """Hold `lock` `depth` times again, as before _release_all()."""
    if isinstance(lock, RLock):
        lock._acquire_restore(depth)
    else:
        lock.acquire()


class Condition(Placed):
    """A condition variable in shared memory: :class:`threading.Condition`'s
    interface.

    ``Condition(lock=None, *, max_waiters=64)`` makes one for `lock` (a new
    :class:`RLock` if None) in memory of its own; with ``buffer=a,
    offset=n`` in the bytes ``[n, n + condition_size(max_waiters))`` of the
    shared array ``a``; ``Condition.at(a, n, lock)`` finds one made there.
    """

    __module__ = "memshare"
    _phrase = "a Condition"
    _impl: _core.SharedCondition

    def __init__(
        self,
        lock: AnyLock | None = None,
        *,
        max_waiters: int = 64,
        buffer: object | None = None,
        offset: int = 0,
    ) -> None:
        if not 1 <= max_waiters <= 1 << 20:
            raise ValueError(f"max_waiters is from 1 to {1 << 20}, not {max_waiters}")
        size = condition_size(max_waiters)
        cell = cell_in(self._phrase, size, buffer, offset)
        self._impl = _core.SharedCondition(cell, max_waiters, True)
        self._lock = _checked(lock if lock is not None else RLock())

    @classmethod
    def at(cls, buffer: object, offset: int = 0, lock: AnyLock | None = None) -> Self:
        """The Condition already made at `offset` of `buffer`, used with
        `lock` (the one it was made with)."""
        if lock is None:
            raise TypeError("Condition.at() needs the lock the Condition was made with")
        head = cell_in(cls._phrase, condition_size(0), buffer, offset)
        slots = _core.condition_slots(head)
        return cls._rebuild(
            cell_in(cls._phrase, condition_size(slots), buffer, offset), lock
        )

    @classmethod
    def _rebuild(cls, cell: Cell, lock: AnyLock) -> Self:
        condition = cls.__new__(cls)
        condition._impl = _core.SharedCondition(cell, 0, False)
        condition._lock = _checked(lock)
        return condition

    @property
    def lock(self) -> AnyLock:
        """The lock the Condition is used with."""
        return self._lock

    @property
    def max_waiters(self) -> int:
        return self._impl.slots

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self._lock.__enter__()

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock, wait until notified or `timeout` seconds pass
        (None: for ever), take the lock back: whether notified.

        If the lock's holder died meanwhile, raises :class:`OwnerDiedError`
        with the lock held, as ``acquire()`` does."""
        if self._lock._depth() == 0:
            raise RuntimeError("cannot wait on un-acquired lock")
        limit = seconds(timeout)
        slot = self._impl.enlist()
        depth = _release_all(self._lock)
        try:
            self._impl.sleep(slot, limit)  # KeyboardInterrupt ends it
        finally:
            try:
                _take_back(self._lock, depth)
            finally:
                notified = self._impl.leave(slot)
        return notified

    def wait_for(self, predicate: Callable[[], T], timeout: float | None = None) -> T:
        """Wait until `predicate()` is true, at most `timeout` seconds: the
        last value of the predicate."""
        deadline = None if timeout is None else time.monotonic() + timeout
        result = predicate()
        while not result:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            self.wait(left)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake up to `n` waiters, the longest waiting first."""
        if self._lock._depth() == 0:
            raise RuntimeError("cannot notify on un-acquired lock")
        if n > 0:
            self._impl.notify(min(n, 0xFFFFFFFF))

    def notify_all(self) -> None:
        """Wake every waiter."""
        self.notify(self._impl.slots)

    def __repr__(self) -> str:
        return f"<memshare.Condition({self._lock!r}) at {self.cell.ctypes.data:#x}>"


def _checked(lock: object) -> AnyLock:
    if not isinstance(lock, (Lock, RLock)):
        raise TypeError(
            "a memshare Condition needs a memshare Lock or RLock, which other "
            f"processes reach too, not {type(lock).__name__}"
        )
    return lock


def _reduce_condition(condition: Condition) -> tuple[Any, ...]:
    return Condition._rebuild, (condition.cell, condition.lock)


class Barrier(Placed):
    """A barrier in shared memory: :class:`threading.Barrier`'s interface.

    ``Barrier(parties, action=None, timeout=None)`` makes one in memory of
    its own; with ``buffer=a, offset=n`` in the bytes ``[n, n +
    BARRIER_SIZE)`` of the shared array ``a``; ``Barrier.at(a, n, action,
    timeout)`` finds one made there.  ``action`` runs in the process of the
    last party to arrive, so it goes to other processes with the barrier
    (pickled by reference: a module-level function).  A party whose process
    dies never arrives: give ``wait()`` a timeout where that can happen.
    Errors are :class:`threading.BrokenBarrierError`.
    """

    __module__ = "memshare"
    _phrase = "a Barrier"
    _size = BARRIER_SIZE
    _impl: _core.SharedBarrier

    def __init__(
        self,
        parties: int,
        action: Callable[[], object] | None = None,
        timeout: float | None = None,
        *,
        buffer: object | None = None,
        offset: int = 0,
    ) -> None:
        if not 1 <= parties <= 0xFFFFFFF:
            raise ValueError("parties must be >= 1")
        self._impl = _core.SharedBarrier(self._place(buffer, offset), parties, True)
        self._action, self._timeout = action, seconds(timeout)

    @classmethod
    def _attach(cls, cell: Cell) -> Any:
        return _core.SharedBarrier(cell, 0, False)

    @classmethod
    def _rebuild(
        cls, cell: Cell, action: Callable[[], object] | None, timeout: float | None
    ) -> Self:
        barrier = cls.at(cell)
        barrier._action, barrier._timeout = action, timeout
        return barrier

    @classmethod
    def at(
        cls,
        buffer: object,
        offset: int = 0,
        action: Callable[[], object] | None = None,
        timeout: float | None = None,
    ) -> Self:
        """The Barrier already made at `offset` of `buffer`, with the
        `action` and default `timeout` this process gives it."""
        barrier = super().at(buffer, offset)
        barrier._action, barrier._timeout = action, seconds(timeout)
        return barrier

    def wait(self, timeout: float | None = None) -> int:
        """Wait until every party has called wait(): this party's index,
        from 0 to parties - 1, different for each."""
        limit = self._timeout if timeout is None else seconds(timeout)
        arrival = self._impl.arrive()
        if arrival is None:
            raise threading.BrokenBarrierError
        index, generation, last = arrival
        if last:
            self._run_action(generation)
            return index
        if not self._impl.wait(generation, limit):
            raise threading.BrokenBarrierError
        return index

    def _run_action(self, generation: int) -> None:
        try:
            if self._action is not None:
                self._action()
        except BaseException:
            self._impl.complete(generation, False)  # the others find it broken
            raise
        self._impl.complete(generation, True)

    def reset(self) -> None:
        """Make the barrier whole and empty; whoever waits gets
        BrokenBarrierError."""
        self._impl.reset()

    def abort(self) -> None:
        """Break the barrier: every wait() raises BrokenBarrierError until
        reset()."""
        self._impl.abort()

    @property
    def parties(self) -> int:
        return self._impl.parties

    @property
    def n_waiting(self) -> int:
        return self._impl.n_waiting

    @property
    def broken(self) -> bool:
        return self._impl.broken

    def __repr__(self) -> str:
        if self.broken:
            return self._repr_as_threading("broken")
        return self._repr_as_threading(f"waiters={self.n_waiting}/{self.parties}")


def _reduce_barrier(barrier: Barrier) -> tuple[Any, ...]:
    return Barrier._rebuild, (barrier.cell, barrier._action, barrier._timeout)


def register() -> None:
    """Have multiprocessing send conditions and barriers as handles (done on
    import)."""
    send_as_handles(Condition, _reduce_condition)
    send_as_handles(Barrier, _reduce_barrier)
