"""64-bit integers in shared memory that every process changes atomically:
counters next to the data they count, with no lock.

Placed and sent to other processes as :class:`memshare.Lock` is.  Values
are signed 64-bit; additions wrap around, as in C.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any, SupportsIndex

from .. import _core
from ._placement import (
    Cell,
    Placed,
    cell_in,
    reduce_placed,
    refuse_pickle,
    send_as_handles,
)

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["ATOMIC_SIZE", "AtomicArray", "AtomicInt"]

ATOMIC_SIZE: int = _core.ATOMIC_SIZE  # bytes an AtomicInt takes in a buffer

_LOWEST, _HIGHEST = -(1 << 63), (1 << 63) - 1


def _int64(value: SupportsIndex) -> int:
    number = operator.index(value)
    if not _LOWEST <= number <= _HIGHEST:
        raise OverflowError(f"an AtomicInt holds 64-bit integers, not {number}")
    return number


class AtomicInt(Placed):
    """A signed 64-bit integer in shared memory, read and changed atomically.

    ``AtomicInt(value=0)`` makes one in memory of its own;
    ``AtomicInt(value, buffer=a, offset=n)`` makes one in the bytes ``[n, n
    + ATOMIC_SIZE)`` of the shared array ``a`` (``n`` a multiple of 8);
    ``AtomicInt.at(a, n)`` finds one made there before.
    """

    __module__ = "memshare"
    _phrase = "an AtomicInt"
    _size = ATOMIC_SIZE
    _impl: _core.SharedAtomic

    def __init__(
        self, value: SupportsIndex = 0, *, buffer: object | None = None, offset: int = 0
    ) -> None:
        self._impl = _core.SharedAtomic(
            self._place(buffer, offset), _int64(value), True
        )

    @classmethod
    def _attach(cls, cell: Cell) -> Any:
        return _core.SharedAtomic(cell, 0, False)

    def load(self) -> int:
        return self._impl.load()

    def store(self, value: SupportsIndex) -> None:
        self._impl.store(_int64(value))

    @property
    def value(self) -> int:
        """load() and store()."""
        return self._impl.load()

    @value.setter
    def value(self, value: SupportsIndex) -> None:
        self._impl.store(_int64(value))

    def fetch_add(self, delta: SupportsIndex) -> int:
        """Add `delta`; return the value before."""
        return self._impl.fetch_add(_int64(delta))

    def add(self, delta: SupportsIndex) -> int:
        """Add `delta`; return the value after."""
        step = _int64(delta)
        return _wrapped(self._impl.fetch_add(step) + step)

    def exchange(self, value: SupportsIndex) -> int:
        """Store `value`; return the value before."""
        return self._impl.exchange(_int64(value))

    def compare_exchange(
        self, expected: SupportsIndex, desired: SupportsIndex
    ) -> tuple[bool, int]:
        """Store `desired` if the value is `expected`: (whether it did, the
        value seen), so that a loop can retry with what it saw."""
        stored, seen = self._impl.compare_exchange(_int64(expected), _int64(desired))
        return stored, seen

    def __int__(self) -> int:
        return self.load()

    def __index__(self) -> int:
        return self.load()

    def __repr__(self) -> str:
        return f"<memshare.AtomicInt {self.load()} at {self.cell.ctypes.data:#x}>"


def _wrapped(number: int) -> int:
    return (number - _LOWEST) % (1 << 64) + _LOWEST


class AtomicArray:
    """`size` AtomicInts side by side in one piece of shared memory:
    ``counters[i]`` is the i-th, ``counters.fetch_add(i, 1)`` adds to it."""

    __module__ = "memshare"

    def __init__(
        self,
        size: SupportsIndex,
        value: SupportsIndex = 0,
        *,
        buffer: object | None = None,
        offset: int = 0,
    ) -> None:
        count = operator.index(size)
        if count < 0:
            raise ValueError(f"an AtomicArray has a size of 0 or more, not {count}")
        first = _int64(value)
        cells = cell_in(
            f"an AtomicArray of {count}", max(count, 1) * ATOMIC_SIZE, buffer, offset
        )
        self._cells = cells
        self._items = [
            AtomicInt(first, buffer=cells, offset=i * ATOMIC_SIZE) for i in range(count)
        ]

    @classmethod
    def at(cls, buffer: object, size: SupportsIndex, offset: int = 0) -> Self:
        """The AtomicArray of `size` already made at `offset` of `buffer`."""
        count = operator.index(size)
        array = cls.__new__(cls)
        cells = cell_in(
            f"an AtomicArray of {count}", max(count, 1) * ATOMIC_SIZE, buffer, offset
        )
        array._cells = cells
        array._items = [AtomicInt.at(cells, i * ATOMIC_SIZE) for i in range(count)]
        return array

    @property
    def cell(self) -> Cell:
        """The shared memory the integers live in."""
        return self._cells

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: SupportsIndex) -> AtomicInt:
        return self._items[index]

    def load(self, index: SupportsIndex) -> int:
        return self._items[index].load()

    def store(self, index: SupportsIndex, value: SupportsIndex) -> None:
        self._items[index].store(value)

    def fetch_add(self, index: SupportsIndex, delta: SupportsIndex) -> int:
        return self._items[index].fetch_add(delta)

    def tolist(self) -> list[int]:
        """Every value, each read atomically (not all at one instant)."""
        return [item.load() for item in self._items]

    def __reduce__(self) -> Any:
        return refuse_pickle("AtomicArray")

    def __repr__(self) -> str:
        return f"<memshare.AtomicArray {self.tolist()}>"


def _reduce_array(array: AtomicArray) -> tuple[Any, ...]:
    return AtomicArray.at, (array.cell, len(array), 0)


def register() -> None:
    """Have multiprocessing send atomics as handles (done on import)."""
    send_as_handles(AtomicInt, reduce_placed)
    send_as_handles(AtomicArray, _reduce_array)
