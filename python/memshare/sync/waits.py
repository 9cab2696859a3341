"""Events and semaphores in shared memory, with :mod:`threading`'s interface.

Like :class:`memshare.Lock`, each lives in a cell of shared memory of its
own or at an offset of a shared array (``buffer=``, ``offset=``, and
``at()`` to find one made there), travels to other processes through every
``multiprocessing`` channel as a handle, waits without the GIL, and stays
interruptible by Ctrl-C.  Waiting spins for a few microseconds before it
sleeps in the kernel, so a hand-off between two processes on two cores
takes microseconds.
"""

from __future__ import annotations

import operator
from typing import Any

from .. import _core
from ._placement import (
    Acquirable,
    Cell,
    Placed,
    acquire_timeout,
    reduce_placed,
    release_count,
    seconds,
    send_as_handles,
)

__all__ = ["EVENT_SIZE", "SEMAPHORE_SIZE", "BoundedSemaphore", "Event", "Semaphore"]

EVENT_SIZE: int = _core.EVENT_SIZE  # bytes an Event takes in a buffer
SEMAPHORE_SIZE: int = _core.SEMAPHORE_SIZE  # bytes a (Bounded)Semaphore takes


class Event(Placed):
    """A flag in shared memory: :class:`threading.Event`'s interface.

    ``Event()`` makes one in memory of its own; ``Event(buffer=a,
    offset=n)`` makes one in the bytes ``[n, n + EVENT_SIZE)`` of the shared
    array ``a``; ``Event.at(a, n)`` finds one made there before.
    """

    __module__ = "memshare"
    _phrase = "an Event"
    _size = EVENT_SIZE
    _impl: _core.SharedEvent

    def __init__(self, *, buffer: object | None = None, offset: int = 0) -> None:
        self._impl = _core.SharedEvent(self._place(buffer, offset), True)

    @classmethod
    def _attach(cls, cell: Cell) -> Any:
        return _core.SharedEvent(cell, False)

    def is_set(self) -> bool:
        return self._impl.is_set()

    def set(self) -> None:
        """Set the flag and wake every process and thread waiting for it."""
        self._impl.set()

    def clear(self) -> None:
        self._impl.clear()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the flag is set, at most `timeout` seconds (None: for
        ever); return the flag."""
        return self._impl.wait(seconds(timeout))

    def __repr__(self) -> str:
        return self._repr_as_threading("set" if self.is_set() else "unset")


class Semaphore(Placed, Acquirable):
    """A counter in shared memory: :class:`threading.Semaphore`'s interface,
    placed and found as :class:`Event` is."""

    __module__ = "memshare"
    _phrase = "a Semaphore"
    _size = SEMAPHORE_SIZE
    _bounded = False
    _impl: _core.SharedSemaphore

    def __init__(
        self, value: int = 1, *, buffer: object | None = None, offset: int = 0
    ) -> None:
        value = operator.index(value)
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        most = _core.SharedSemaphore.most
        if value > most:
            raise ValueError(f"semaphore initial value must be at most {most}")
        bound = value if self._bounded else None
        self._impl = _core.SharedSemaphore(
            self._place(buffer, offset), value, bound, True
        )

    @classmethod
    def _attach(cls, cell: Cell) -> Any:
        bound = 0 if cls._bounded else None  # only says which kind to expect
        return _core.SharedSemaphore(cell, 0, bound, False)

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take one: True once taken, False if none came in time."""
        return self._impl.acquire(bool(blocking), acquire_timeout(blocking, timeout))

    def release(self, n: int = 1) -> None:
        """Give back `n` and wake as many waiters."""
        n = release_count(n)
        if n > _core.SharedSemaphore.most or not self._impl.release(n):
            if self._bounded:
                raise ValueError("Semaphore released too many times")
            raise OverflowError(
                f"a semaphore counts up to {_core.SharedSemaphore.most}"
            )

    def get_value(self) -> int:
        """The value now (as multiprocessing's semaphores tell it)."""
        return self._impl.value()

    def __repr__(self) -> str:
        bound = f"/{self._impl.bound()}" if self._bounded else ""
        return self._repr_as_threading(f"value={self.get_value()}{bound}")


class BoundedSemaphore(Semaphore):
    """A :class:`Semaphore` that refuses to rise above its initial value
    (``ValueError``), as :class:`threading.BoundedSemaphore`."""

    __module__ = "memshare"
    _phrase = "a BoundedSemaphore"
    _bounded = True


def register() -> None:
    """Have multiprocessing send events and semaphores as handles (done on
    import)."""
    for kind in (Event, Semaphore, BoundedSemaphore):
        send_as_handles(kind, reduce_placed)
