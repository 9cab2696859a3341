"""``ShareableList``: a fixed-length list in shared memory, in the layout of
:class:`multiprocessing.shared_memory.ShareableList`, so that either can
attach to a list the other made."""

from __future__ import annotations

import functools
import struct
import types
from collections.abc import Iterable, Iterator
from typing import Any

from .shared_memory import SharedMemory

__all__ = ["ShareableList"]

Item = int | float | bool | str | bytes | None

# The layout (that of the standard library):
#   q                 number of items, n
#   q * (n + 1)       offset of each item in the data area, and its end
#   ...               the data area: each item in 8 bytes, or str/bytes in a
#                     multiple of 8 bytes
#   8s * n            the struct format of each item
#   b * n             how to turn each unpacked value back into its item
_ALIGNMENT = 8
_ENCODING = "utf8"
_FIXED_FORMATS: dict[type, str] = {
    int: "q",
    float: "d",
    bool: "xxxxxxx?",
    type(None): "xxxxxx?x",
}
_AS_IS, _STR, _BYTES, _NONE = 0, 1, 2, 3


class UnsupportedItemError(KeyError, TypeError):
    """An item of a type a ShareableList cannot hold.

    A ``KeyError``, as the standard library raises, and a ``TypeError``, as it
    should be."""

    def __str__(self) -> str:
        return str(self.args[0])


def _encoded(item: Item) -> Any:
    return item.encode(_ENCODING) if isinstance(item, str) else item


def _format_of(item: Item) -> str:
    if isinstance(item, (str, bytes)):
        # Room for the encoded bytes (the standard library counts characters,
        # and cuts non-ASCII strings short), rounded up to 8, always spare.
        size = len(_encoded(item))
        return f"{_ALIGNMENT * (size // _ALIGNMENT + 1)}s"
    fmt = _FIXED_FORMATS.get(type(item))
    if fmt is None:
        raise UnsupportedItemError(
            "a ShareableList holds int, float, bool, str, bytes and None, not "
            f"{type(item).__name__}"
        )
    return fmt


def _transform_of(item: Item) -> int:
    if isinstance(item, str):
        return _STR
    if isinstance(item, bytes):
        return _BYTES
    return _NONE if item is None else _AS_IS


def _back_transform(code: int, value: Any) -> Item:
    if code == _STR:
        return bytes(value).rstrip(b"\x00").decode(_ENCODING)
    if code == _BYTES:
        return bytes(value).rstrip(b"\x00")
    return None if code == _NONE else value


class ShareableList:
    """A list of ``int``, ``float``, ``bool``, ``str``, ``bytes`` and ``None``
    in shared memory: a drop-in superset of
    :class:`multiprocessing.shared_memory.ShareableList`, in the same layout.

    ``ShareableList(sequence)`` makes one; ``ShareableList(name=name)``
    attaches to one, made by memshare or by the standard library.  Its length
    is fixed; an item can be replaced by another of any type that fits the
    space of the first (a ``str`` or ``bytes`` gets the first one's space,
    rounded up to 8 bytes).  The memory is a :class:`memshare.SharedMemory`,
    ``.shm``, so it goes with its creator unless that unlinks it first.
    """

    def __class_getitem__(cls, item: Any) -> types.GenericAlias:
        return types.GenericAlias(cls, item)

    def __init__(
        self, sequence: Iterable[Item] | None = None, *, name: str | None = None
    ):
        if name is not None and sequence is None:
            self.shm = SharedMemory(name)
            (length,) = struct.unpack_from("q", self.shm.buf, 0)  # type: ignore[arg-type]
            self._offsets: list[int] = list(
                struct.unpack_from("q" * (length + 1), self.shm.buf, 8)  # type: ignore[arg-type]
            )
            return
        items = list(sequence or ())
        formats = [_format_of(item) for item in items]
        self._offsets = [0]
        for fmt in formats:
            self._offsets.append(
                self._offsets[-1] + (int(fmt[:-1]) if fmt.endswith("s") else _ALIGNMENT)
            )
        n = len(items)
        size = struct.calcsize("q" * (n + 2) + "".join(formats) + "8s" * n + "b" * n)
        self.shm = SharedMemory(name, create=True, size=size)
        buf = self.shm.buf
        assert buf is not None
        struct.pack_into("q" * (n + 2), buf, 0, n, *self._offsets)
        struct.pack_into("".join(formats), buf, self._data_start, *map(_encoded, items))
        struct.pack_into(
            "8s" * n,
            buf,
            self._formats_start,
            *(fmt.encode(_ENCODING) for fmt in formats),
        )
        struct.pack_into(
            "b" * n, buf, self._transforms_start, *map(_transform_of, items)
        )

    # -- where things are ------------------------------------------------------------

    @property
    def _buf(self) -> memoryview:
        buf = self.shm.buf
        if buf is None:
            raise ValueError(f"ShareableList {self.shm.name!r} is closed")
        return buf

    @property
    def _length(self) -> int:
        return len(self._offsets) - 1

    @property
    def _data_start(self) -> int:
        return (self._length + 2) * 8

    @property
    def _formats_start(self) -> int:
        return self._data_start + self._offsets[-1]

    @property
    def _transforms_start(self) -> int:
        return self._formats_start + self._length * 8

    def _position(self, position: int, message: str) -> int:
        index = position + self._length if position < 0 else position
        if not 0 <= index < self._length:
            raise IndexError(message)
        return index

    def _format(self, index: int) -> str:
        (fmt,) = struct.unpack_from("8s", self._buf, self._formats_start + index * 8)
        return bytes(fmt).rstrip(b"\x00").decode(_ENCODING)

    # -- the list ---------------------------------------------------------------------

    def __getitem__(self, position: int) -> Item:
        index = self._position(position, "index out of range")
        (value,) = struct.unpack_from(
            self._format(index), self._buf, self._data_start + self._offsets[index]
        )
        (code,) = struct.unpack_from("b", self._buf, self._transforms_start + index)
        return _back_transform(code, value)

    def __setitem__(self, position: int, value: Item) -> None:
        index = self._position(position, "assignment index out of range")
        space = self._offsets[index + 1] - self._offsets[index]
        current = self._format(index)
        if isinstance(value, (str, bytes)):
            if len(_encoded(value)) > space:
                raise ValueError("bytes/str item exceeds available storage")
            fmt = current if current.endswith("s") else f"{space}s"
        else:
            fmt = _format_of(value)
        struct.pack_into(
            "8s", self._buf, self._formats_start + index * 8, fmt.encode(_ENCODING)
        )
        struct.pack_into(
            "b", self._buf, self._transforms_start + index, _transform_of(value)
        )
        struct.pack_into(
            fmt, self._buf, self._data_start + self._offsets[index], _encoded(value)
        )

    def __len__(self) -> int:
        (length,) = struct.unpack_from("q", self._buf, 0)
        return int(length)

    def __iter__(self) -> Iterator[Item]:
        return (self[i] for i in range(len(self)))

    def __reduce__(self) -> tuple[Any, ...]:
        return functools.partial(type(self), name=self.shm.name), ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)}, name={self.shm.name!r})"

    @property
    def format(self) -> str:
        """The struct format of all items, one after the other."""
        return "".join(self._format(i) for i in range(self._length))

    def count(self, value: Item) -> int:
        """How many items equal ``value``."""
        return sum(value == item for item in self)

    def index(self, value: Item) -> int:
        """The position of the first item equal to ``value``; ValueError if none."""
        for position, item in enumerate(self):
            if value == item:
                return position
        raise ValueError(f"{value!r} not in this container")
