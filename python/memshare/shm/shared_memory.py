"""``SharedMemory``: :class:`multiprocessing.shared_memory.SharedMemory` as
users wish it were."""

from __future__ import annotations

import contextlib
import functools
import operator
import weakref
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .. import _core
from ..arrays import _registry
from ..explore import _html
from ..mapping import Mapping
from .calls import _encode

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["SharedMemory"]


class SharedMemory:
    """A named block of shared memory: a drop-in superset of
    :class:`multiprocessing.shared_memory.SharedMemory`.

    ``SharedMemory(create=True, size=n)`` makes a new block (with a random name
    unless ``name`` is given); ``SharedMemory(name)`` attaches to one.  It has
    the attributes, methods, pickling and errors of the standard library's,
    with these differences:

    * Attaching never removes the block.  A block created with ``track=True``
      (the default) is removed when its creator ends, however it ends, even
      by SIGKILL, and never while the creator runs.  ``track=False`` leaves it
      until :meth:`unlink`.
    * ``size`` is the size asked for, and the memory is reserved when the
      block is made: a full ``/dev/shm`` fails here with ``OSError(ENOSPC)``,
      not later with SIGBUS.  ``reserve=False`` makes a sparse block.
    * ``readonly=True`` attaches for reading: :attr:`buf` is read-only.
    * ``mode`` sets the permissions (default ``0o600``), whatever the umask.
    * :meth:`resize` grows or shrinks the block; attached processes see the
      new size at their next use of :attr:`size`, :attr:`buf` or
      :attr:`mapping`.
    * :attr:`mapping` is the :class:`memshare.Mapping` behind :attr:`buf`.
    * It is a context manager: leaving the block closes it, and unlinks it
      if this object created it.
    * No warnings about "leaked" blocks, ever.
    """

    _name: str | None = None
    _mapping: Mapping | None = None
    _buf: memoryview | None = None
    _created = False
    _readonly = False
    _size = 0  # the last size seen: what size reports once closed

    def __init__(
        self,
        name: str | None = None,
        create: bool = False,
        size: int = 0,
        *,
        track: bool = True,
        readonly: bool = False,
        mode: int = 0o600,
        reserve: bool = True,
    ) -> None:
        size = operator.index(size)
        if not size >= 0:
            raise ValueError("'size' must be a positive integer")
        if create:
            if size == 0:
                raise ValueError("'size' must be a positive number different from zero")
            if readonly:
                raise ValueError("a block is created writable; attach readonly=True")
            encoded = None if name is None else _encode(name)
            self._name, mapping, self._identity = _core.create_segment(
                encoded, size, mode, reserve, track
            )
        else:
            if name is None:
                raise ValueError("'name' can only be None if create=True")
            self._name, mapping, self._identity = _core.open_segment(
                _encode(name), readonly
            )
        self._created = create
        self._readonly = readonly
        self._retired: weakref.WeakSet[Mapping] = weakref.WeakSet()
        self._use(Mapping(mapping))

    def _use(self, mapping: Mapping) -> None:
        if self._mapping is not None:
            # Views of the old mapping keep it alive; resize() checks them.
            self._retired.add(self._mapping)
        self._mapping = mapping
        self._buf = memoryview(mapping)
        self._size = len(mapping)
        # Arrays and primitives placed in the block go to other processes by
        # its name, as memshare's named arrays do.
        _registry.add(
            mapping, _registry.Source("named", self._identity, name=self._name)
        )

    def _current(self) -> Mapping:
        """The mapping, remapped first if the block changed size."""
        if self._mapping is None:
            raise ValueError(f"SharedMemory {self._name!r} is closed")
        size = self._mapping.size()
        if size not in (0, len(self._mapping)):
            mode = "r" if self._readonly else "r+"
            self._use(Mapping(_core.map_fd(self._mapping.fileno(), mode, None, 0, 0)))
        return self._mapping

    def __del__(self) -> None:
        # While views still use it, the mapping goes with the last of them.
        with contextlib.suppress(OSError, BufferError):
            self.close()

    def __reduce__(self) -> tuple[Any, ...]:
        return (functools.partial(type(self), self.name, readonly=self._readonly), ())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, size={self.size})"

    def _repr_html_(self) -> str:
        """Jupyter's display: the name, size and access, and which pages
        are in memory."""
        mapping = self.mapping
        strip = "" if mapping is None else _html.residency_strip(mapping.residency())
        state = (
            "closed"
            if mapping is None
            else ("read-only" if self.readonly else "read-write")
        )
        return (
            _html.table(
                f"memshare.{type(self).__name__}",
                ["name", "size", "access"],
                [[self.name, _html.size(self.size), state]],
            )
            + strip
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.close()
        finally:
            if self._created:
                # The body may have unlinked it already.
                with contextlib.suppress(FileNotFoundError):
                    self.unlink()

    @property
    def buf(self) -> memoryview | None:
        """A memoryview of the block (``None`` once closed)."""
        if self._mapping is not None:
            self._current()
        return self._buf

    @property
    def mapping(self) -> Mapping | None:
        """The :class:`memshare.Mapping` of the block (``None`` once closed)."""
        return None if self._mapping is None else self._current()

    @property
    def name(self) -> str:
        """The name that identifies the block (without a leading "/")."""
        assert self._name is not None
        return self._name

    @property
    def size(self) -> int:
        """The size in bytes: what the creator asked for, or resized to."""
        if self._mapping is not None:
            self._current()
        return self._size

    @property
    def readonly(self) -> bool:
        """Whether this object attached for reading only."""
        return self._readonly

    def resize(self, size: int, *, reserve: bool = True) -> None:
        """Grow or shrink the block to ``size`` bytes.

        Growth is reserved (see ``reserve`` of the constructor).  Attached
        processes see the new size at their next use of :attr:`size`,
        :attr:`buf` or :attr:`mapping`.  Shrinking is refused with
        ``BufferError`` while a view in this process reaches past the new
        end; a shrink releases :attr:`buf` (take it again afterwards).  Views
        in other processes past the end fault when touched, so shrink only
        what no other process still uses.
        """
        if self._readonly:
            raise TypeError(
                f"cannot resize {self._name!r}: it is attached readonly=True"
            )
        size = operator.index(size)
        if size <= 0:
            raise ValueError(f"size must be positive, not {size}")
        mapping = self._current()
        if size < len(mapping):
            self._refuse_shrink_under_views(size)
        _core.resize_segment(mapping.fileno(), size, reserve, self.name)
        self._current()

    def _refuse_shrink_under_views(self, size: int) -> None:
        mapping, own = self._mapping, self._buf
        assert mapping is not None
        old_views = [m for m in self._retired if m.exports and len(m) > size]
        if mapping.exports > (own is not None) or old_views:
            raise BufferError(
                f"cannot shrink {self._name!r} to {size} bytes while views of it "
                "reach past that"
            )
        if own is not None:
            # Slices of buf share its buffer and hold the mapping without
            # counting as exports of their own: release buf, and see.
            own.release()
            self._buf = memoryview(mapping)
            if mapping.exports > 1:
                raise BufferError(
                    f"cannot shrink {self._name!r} to {size} bytes while slices "
                    "of its buf reach past that"
                )

    def close(self) -> None:
        """Close this object's access to the block; the block stays."""
        if self._buf is not None:
            self._buf.release()
            self._buf = None
        if self._mapping is not None:
            self._mapping.close()
            self._mapping = None

    def unlink(self) -> None:
        """Remove the block's name; processes using it keep their memory."""
        _core.shm_unlink(_encode(self.name))
