"""Locks that live in shared memory, next to the data they guard.

:class:`Lock` and :class:`RLock` have the interface of :mod:`threading`'s
and :mod:`multiprocessing`'s locks, and more:

- they live in shared memory: on their own, or at an offset of a shared
  array (so a lock can sit in the segment of the array it guards, and a
  process that attaches to a named segment finds it there with
  :meth:`Lock.at`);
- they travel to other processes through every ``multiprocessing`` channel
  (Process arguments, Pool, Queue, Pipe, ``ProcessPoolExecutor``) under
  fork, spawn and forkserver, as a handle to that memory;
- a lock whose holding process died is not lost: the next ``acquire()``
  gets it and raises :class:`OwnerDiedError` to say so, with the lock held;
- waiting releases the GIL and stays interruptible by Ctrl-C.

As with :mod:`threading`, any thread of any process may release a
:class:`Lock`, and acquiring it again from the thread that holds it waits;
an :class:`RLock` is released only by the thread that holds it.  Owner death
is a property of processes: a thread that ends holding a lock leaves it
held, as in :mod:`threading`.  Processes that share a lock must see each
other's pids (one pid namespace): that is how a dead holder is found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .. import _core
from ._placement import cell_in, reduce_placed, refuse_pickle, send_as_handles

__all__ = ["LOCK_SIZE", "Lock", "OwnerDiedError", "RLock"]

OwnerDiedError = _core.OwnerDiedError
LOCK_SIZE: int = _core.LOCK_SIZE  # bytes a Lock or RLock takes in a buffer

if TYPE_CHECKING:
    from typing_extensions import Self

    class _LockBase:
        """What _core.SyncLock, a plain CPython type, provides."""

        cell: npt.NDArray[np.uint8]

        def __init__(
            self, cell: npt.NDArray[np.uint8], kind: int, make: bool
        ) -> None: ...
        def acquire(self, blocking: bool = True, timeout: float = -1) -> bool: ...
        def release(self) -> None: ...
        def locked(self) -> bool: ...
        def _depth(self) -> int: ...
        def __enter__(self) -> bool: ...
        def __exit__(self, *exc_info: object) -> None: ...

else:
    _LockBase = _core.SyncLock


class _SharedLock(_LockBase):
    _kind: int
    _name: str
    _phrase: str  # "a Lock": for messages

    def __init__(self, *, buffer: object | None = None, offset: int = 0) -> None:
        cell = cell_in(self._phrase, LOCK_SIZE, buffer, offset)
        super().__init__(cell, self._kind, True)

    @classmethod
    def at(cls, buffer: object, offset: int = 0) -> Self:
        """The lock already made at `offset` of `buffer` (by another process,
        say); ``ValueError`` if those bytes hold none."""
        lock = cls.__new__(cls)
        cell = cell_in(cls._phrase, LOCK_SIZE, buffer, offset)
        _LockBase.__init__(lock, cell, cls._kind, False)
        return lock

    def __reduce__(self) -> Any:
        return refuse_pickle(self._name)

    def __repr__(self) -> str:
        # As threading's: "<unlocked _thread.lock object at 0x...>".
        state = "locked" if self.locked() else "unlocked"
        return f"<{state} memshare.{self._name} object at {self.cell.ctypes.data:#x}>"


class Lock(_SharedLock):
    """A lock in shared memory: :class:`threading.Lock`'s interface.

    ``Lock()`` makes one in memory of its own; ``Lock(buffer=a, offset=n)``
    makes one in the bytes ``[n, n + LOCK_SIZE)`` of the shared array ``a``
    (``n`` a multiple of 8), overwriting them; ``Lock.at(a, n)`` finds one
    made there before.

    ``acquire(blocking=True, timeout=-1)`` returns True once the lock is
    held, False if it was not free in time.  If the process that held it
    ended without releasing it, ``acquire()`` raises :class:`OwnerDiedError`
    with the lock held (within a slice of a waiting acquire, or at once):
    check what it guards, then ``release()``.  Any thread or process may
    release it.
    """

    __module__ = "memshare"
    _kind = _core.lock_kind
    _name = "Lock"
    _phrase = "a Lock"


class RLock(_SharedLock):
    """A reentrant lock in shared memory: :class:`threading.RLock`'s
    interface, placed and found as :class:`Lock` is.  Only the thread that
    holds it may release it."""

    __module__ = "memshare"
    _kind = _core.rlock_kind
    _name = "RLock"
    _phrase = "an RLock"

    # The methods threading.Condition uses with an RLock, so that it works
    # with this one too (within one process: a memshare.Condition reaches
    # the others).

    def _is_owned(self) -> bool:
        return self._depth() > 0

    def _recursion_count(self) -> int:
        return self._depth()

    def _release_save(self) -> int:
        """Release every hold this thread has: how many, for
        _acquire_restore()."""
        depth = self._depth()
        if depth == 0:
            raise RuntimeError("cannot release un-acquired lock")
        for _ in range(depth):
            self.release()
        return depth

    def _acquire_restore(self, depth: int) -> None:
        """Hold the lock `depth` times again, as before _release_save();
        OwnerDiedError with the lock held as acquire() raises it."""
        try:
            self.acquire()
        finally:  # held either way
            for _ in range(depth - 1):
                self.acquire()


def register() -> None:
    """Have multiprocessing send locks as handles (done on import)."""
    for kind in (Lock, RLock):
        send_as_handles(kind, reduce_placed)
