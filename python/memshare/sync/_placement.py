"""Where synchronization primitives live: a cell of shared memory, of their
own or at an offset of a shared array, which travels to other processes as
arrays do."""

from __future__ import annotations

import math
import operator
import threading
from collections.abc import Callable
from multiprocessing import reduction
from typing import TYPE_CHECKING, Any, ClassVar, cast

import numpy as np
import numpy.typing as npt

from ..arrays.constructors import is_shared, zeros

if TYPE_CHECKING:
    from typing_extensions import Self

Cell = npt.NDArray[np.uint8]


def cell_in(what: str, size: int, buffer: object | None, offset: int) -> Cell:
    """The `size` bytes at `offset` of `buffer` (memory of its own if None),
    as a uint8 array in memory that memshare shares.  `what` ("a Lock")
    names the primitive in errors."""
    offset = operator.index(offset)
    if buffer is None:
        if offset != 0:
            raise ValueError("offset= places a primitive in a buffer; none was given")
        return zeros(size, np.uint8)
    with memoryview(buffer) as view:  # type: ignore[arg-type]
        total, contiguous, readonly = view.nbytes, view.c_contiguous, view.readonly
    if not contiguous:
        raise ValueError(f"{what} needs contiguous memory; the buffer is not")
    if readonly:
        raise ValueError(f"{what} needs writable memory; the buffer is read-only")
    if offset < 0 or offset + size > total:
        raise ValueError(
            f"{what} takes {size} bytes: offset {offset} of a buffer of {total} "
            "bytes does not leave room for it"
        )
    cell: Cell = np.frombuffer(
        cast(Any, buffer),  # a buffer: memoryview() took it above
        np.uint8,
        count=size,
        offset=offset,
    )
    if not is_shared(cell):
        raise ValueError(
            f"{what} must lie in memory memshare shares (an array made by "
            "memshare.zeros, empty, ..., named or not), so that other processes "
            "can reach it"
        )
    return cell


def refuse_pickle(name: str) -> Any:
    """What ``__reduce__`` does: only multiprocessing may send a primitive."""
    raise TypeError(
        f"a memshare {name} lives in shared memory: send it through "
        "multiprocessing (Process arguments, Pool, Queue, Pipe), which sends it "
        "as a handle; pickle would copy it"
    )


def seconds(timeout: object) -> float | None:
    """A timeout as threading takes it: None waits for ever, a negative one
    does not wait."""
    if timeout is None:
        return None
    if isinstance(timeout, (str, bytes)) or not hasattr(timeout, "__float__"):
        raise TypeError(
            f"timeout must be a number or None, not {type(timeout).__name__}"
        )
    value = float(timeout)
    if math.isnan(value):
        raise ValueError("timeout must be a number, not nan")
    if value > threading.TIMEOUT_MAX:
        raise OverflowError("timeout value is too large")
    return max(value, 0.0)


def acquire_timeout(blocking: object, timeout: object) -> float | None:
    """The timeout of ``acquire(blocking, timeout)``, checked as threading's
    semaphores check it."""
    if not blocking and timeout is not None:
        raise ValueError("can't specify timeout for non-blocking acquire")
    return seconds(timeout)


def release_count(n: object) -> int:
    """The `n` of ``release(n)``, checked as threading's semaphores check it."""
    count = operator.index(n)  # type: ignore[arg-type]
    if count < 1:
        raise ValueError("n must be one or more")
    return count


class Acquirable:
    """``with`` for a semaphore: acquire() on entry, release() on exit."""

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        raise NotImplementedError

    def release(self, n: int = 1) -> None:
        raise NotImplementedError

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def send_as_handles(kind: type[Any], reduce: Callable[[Any], tuple[Any, ...]]) -> None:
    """Have multiprocessing send `kind` with `reduce`, whose arguments hold
    its cell (which goes as a handle)."""
    reduction.ForkingPickler.register(kind, reduce)


class Placed:
    """A primitive whose core lives in a cell of shared memory.

    Subclasses name themselves in `_phrase` ("an Event"), give the cell's
    `_size`, make their core in ``__init__`` from ``_place(buffer,
    offset)``, and say in `_attach` how to find one made in a cell before.
    """

    _phrase: ClassVar[str]
    _size: ClassVar[int]
    _impl: Any

    @classmethod
    def _place(cls, buffer: object | None, offset: int) -> Cell:
        return cell_in(cls._phrase, cls._size, buffer, offset)

    @classmethod
    def _attach(cls, cell: Cell) -> Any:
        raise NotImplementedError

    @classmethod
    def at(cls, buffer: object, offset: int = 0) -> Self:
        """The one already made at `offset` of `buffer` (by another process,
        say); ``ValueError`` if those bytes hold none of this kind."""
        placed = cls.__new__(cls)
        placed._impl = cls._attach(cls._place(buffer, offset))
        return placed

    @property
    def cell(self) -> Cell:
        """The shared memory it lives in."""
        return self._impl.cell  # type: ignore[no-any-return]

    def _repr_as_threading(self, state: str) -> str:
        """``<module.Class at 0x...: state>``, as threading's primitives show
        themselves (the address: the cell's)."""
        cls = type(self)
        return (
            f"<{cls.__module__}.{cls.__qualname__} at {self.cell.ctypes.data:#x}: "
            f"{state}>"
        )

    def __reduce__(self) -> Any:
        return refuse_pickle(type(self).__name__)


def reduce_placed(placed: Any) -> tuple[Any, ...]:
    """How multiprocessing sends a primitive that `at()` finds in its `cell`
    (a Placed, or a lock): the cell goes as a handle."""
    return type(placed).at, (placed.cell, 0)
