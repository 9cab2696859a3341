"""Memory mappings: :class:`Mapping`, a superset of :class:`mmap.mmap`, and the
clearer constructors for the four kinds of mapping (private or shared, of a
file or of anonymous memory)."""

from __future__ import annotations

import math
import operator
import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, SupportsIndex, overload

import numpy as np
import numpy.typing as npt

from . import _core
from .explore import _html

if TYPE_CHECKING:
    from typing_extensions import Buffer, Self

__all__ = ["Mapping", "map_anonymous", "map_file"]


def _protection(prot: int) -> str:
    """ "rw-" for PROT_READ | PROT_WRITE, as /proc/PID/maps writes it."""
    return "".join(
        letter if prot & flag else "-"
        for letter, flag in (
            ("r", _core.PROT_READ),
            ("w", _core.PROT_WRITE),
            ("x", _core.PROT_EXEC),
        )
    )


_ACCESS_NAMES = {
    _core.ACCESS_DEFAULT: "ACCESS_DEFAULT",
    _core.ACCESS_READ: "ACCESS_READ",
    _core.ACCESS_WRITE: "ACCESS_WRITE",
    _core.ACCESS_COPY: "ACCESS_COPY",
}

FileMode = Literal[
    "r", "r+", "w+", "c", "readonly", "readwrite", "write", "copyonwrite"
]
Path = str | bytes | os.PathLike[str] | os.PathLike[bytes]


class Mapping(_core.Mapping):
    """A memory mapping: a drop-in superset of :class:`mmap.mmap`.

    ``Mapping(fileno, length, flags=MAP_SHARED, prot=PROT_READ|PROT_WRITE,
    access=ACCESS_DEFAULT, offset=0, *, trackfd=True)`` maps like
    ``mmap.mmap`` and has every method of it, with the same results and the
    same exceptions for the same misuse.  Beyond ``mmap.mmap`` it accepts any
    ``offset`` (not only page multiples), and it never lets Python code fault:
    a read-only or ``PROT_NONE`` page is refused with an exception, and
    ``close()``, ``resize()`` or ``protect()`` refuse while a memoryview or
    array could still touch the memory they would change.

    ``Mapping(other)`` takes over the memory of another mapping, which is
    closed.  :func:`map_anonymous` and :func:`map_file` are the clearer ways to
    make one.
    """

    __module__ = "memshare"

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        # mmap.mmap maps in __new__, so that a subclass may override __new__
        # (calling it with other arguments) or __init__ (without calling
        # it); pybind11's types are made by __init__.
        mapping = _core.Mapping.__new__(cls)
        _core.Mapping.__init__(mapping, *args, **kwargs)
        return mapping

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass  # mapped by __new__

    if TYPE_CHECKING:
        # What the C++ type provides, in the terms type checkers know.
        def __buffer__(self, flags: int, /) -> memoryview: ...
        def __release_buffer__(self, buffer: memoryview, /) -> None: ...
        @overload
        def __getitem__(self, key: SupportsIndex, /) -> int: ...
        @overload
        def __getitem__(self, key: slice, /) -> bytes: ...
        def __getitem__(self, key: SupportsIndex | slice, /) -> int | bytes: ...
        @overload
        def __setitem__(self, key: SupportsIndex, value: SupportsIndex, /) -> None: ...
        @overload
        def __setitem__(self, key: slice, value: Buffer, /) -> None: ...
        def __setitem__(
            self, key: SupportsIndex | slice, value: SupportsIndex | Buffer, /
        ) -> None: ...
        def __delitem__(self, key: SupportsIndex | slice, /) -> None: ...
        def __len__(self) -> int: ...

    # -- mmap.mmap's sequence behaviour ------------------------------------------

    def __iter__(self) -> Iterator[bytes]:
        # mmap yields one-byte bytes objects when iterated, not ints.
        i = 0
        while i < len(self):
            yield self[i : i + 1]
            i += 1

    def __reversed__(self) -> Iterator[bytes]:
        for i in range(len(self) - 1, -1, -1):
            yield self[i : i + 1]

    def __contains__(self, item: object) -> bool:
        # As with mmap, `x in m` asks whether x equals one of the one-byte
        # bytes objects that iteration yields.
        if isinstance(item, (bytes, bytearray)):
            return len(item) == 1 and self.find(item, 0) != -1
        return any(item == byte for byte in self)

    def __repr__(self) -> str:
        # mmap.mmap's, which names a subclass by its __name__.
        name = "memshare.Mapping" if type(self) is Mapping else type(self).__name__
        if self.closed:
            return f"<{name} closed=True>"
        return (
            f"<{name} closed=False, access={_ACCESS_NAMES.get(self.access)}, "
            f"length={len(self)}, pos={self.tell()}, offset={self.offset}>"
        )

    # -- what kind of mapping --------------------------------------------------------

    def _repr_html_(self) -> str:
        """Jupyter's display: kind, size, access, protection, address, and
        which pages are in memory."""
        if self.closed:
            return _html.table("memshare.Mapping", ["closed"], [[True]])
        strip = (
            ""
            if self.prot == _core.PROT_NONE
            else _html.residency_strip(self.residency())
        )
        return (
            _html.table(
                "memshare.Mapping",
                ["kind", "length", "access", "protection", "address"],
                [
                    [
                        self.kind,
                        _html.size(len(self)),
                        _ACCESS_NAMES.get(self.access, self.access),
                        _protection(self.prot),
                        f"{self.address:#x}",
                    ]
                ],
            )
            + strip
        )

    @property
    def kind(self) -> str:
        """Which of the four kinds: ``"shared file"``, ``"private file"``,
        ``"shared anonymous"`` or ``"private anonymous"``."""
        sharing = "shared" if self.shared else "private"
        return f"{sharing} {'anonymous' if self.anonymous else 'file'}"

    # -- beyond mmap.mmap ---------------------------------------------------------------

    def protect(self, prot: int, start: int = 0, length: int | None = None) -> None:
        """Change the protection of ``[start, start + length)`` (mprotect).

        ``prot`` combines ``PROT_READ``, ``PROT_WRITE`` and ``PROT_EXEC``, or is
        ``PROT_NONE``.  Protection works on whole pages, so the range must start
        and end on page boundaries or at the ends of the mapping; otherwise
        ``OSError(EINVAL)`` names the pages it would touch.  Afterwards memshare
        refuses, with ``TypeError``, any read or write the pages do not allow,
        instead of letting the process fault.

        Raises ``BufferError`` if the change would pull write access from
        under a writable memoryview or array of the mapping, or read access
        from under any of them.
        """
        super().protect(prot, start, length)

    def sync(
        self, start: int = 0, length: int | None = None, *, flags: int = _core.MS_SYNC
    ) -> None:
        """Write changes in ``[start, start + length)`` back to the file (msync).

        ``flags`` is ``MS_SYNC`` (wait for the write), ``MS_ASYNC`` (schedule
        it), either with ``MS_INVALIDATE``, or ``MS_INVALIDATE`` alone.  The
        range is widened to whole pages.  Unlike :meth:`flush`, it calls msync
        for every kind of mapping.
        """
        super().sync(start, length, flags=flags)

    def advise(self, advice: int, start: int = 0, length: int | None = None) -> None:
        """Advise the kernel about ``[start, start + length)`` (madvise).

        Any ``MADV_*`` constant the kernel knows.  Hints (``MADV_WILLNEED``,
        ``MADV_SEQUENTIAL``, ``MADV_HUGEPAGE``, ...) apply to every page the range
        touches.  Advice that drops data or changes what a page allows
        (``MADV_DONTNEED``, ``MADV_FREE``, ``MADV_REMOVE``, ``MADV_DONTFORK``,
        ``MADV_WIPEONFORK``, ``MADV_GUARD_INSTALL``, ...) needs a range of whole
        pages, so that it cannot reach bytes outside it.  ``MADV_HWPOISON`` is
        refused.  After ``MADV_DONTFORK``, a forked child finds zero pages
        there rather than a hole it could fault on.
        """
        super().advise(advice, start, length)

    def lock(
        self, start: int = 0, length: int | None = None, *, on_fault: bool = False
    ) -> None:
        """Lock the pages of ``[start, start + length)`` in memory (mlock).

        ``on_fault=True`` locks each page when it is first touched
        (``MLOCK_ONFAULT``) instead of faulting all of them in now.  An
        ``OSError`` names ``RLIMIT_MEMLOCK`` when the limit is what failed.
        """
        super().lock(start, length, on_fault=on_fault)

    def unlock(self, start: int = 0, length: int | None = None) -> None:
        """Unlock the pages of ``[start, start + length)`` (munlock)."""
        super().unlock(start, length)

    def populate(
        self, write: bool = False, start: int = 0, length: int | None = None
    ) -> None:
        """Fault the pages of ``[start, start + length)`` in now.

        With ``write=True`` the pages are made writable as well
        (``MADV_POPULATE_WRITE``: private pages are copied, shared memory is
        allocated), so that no later write takes a page fault.
        """
        super().populate(write, start, length)

    def residency(self) -> npt.NDArray[np.bool_]:
        """Which pages are resident in memory now (mincore).

        One bool per page the mapping touches, in order.
        """
        return super().residency()

    def view(
        self,
        dtype: npt.DTypeLike = np.uint8,
        shape: int | Sequence[int] | None = None,
        offset: int = 0,
        order: Literal["C", "F"] = "C",
    ) -> npt.NDArray[Any]:
        """A NumPy array over the mapping's bytes, from ``offset``.

        Without ``shape``, as many items of ``dtype`` as fit.  The array is a
        view, not a copy: writes go to the mapping, and it is read-only when
        the mapping is.  The array keeps the mapping open: ``close()`` raises
        ``BufferError`` until the array (and every view of it) is gone.
        """
        dtype = np.dtype(dtype)
        offset = operator.index(offset)
        if order not in ("C", "F"):
            raise ValueError(f"order must be 'C' or 'F', not {order!r}")
        available = len(self) - offset
        if offset < 0 or available < 0:
            raise ValueError(
                f"offset {offset} is outside the mapping of {len(self)} bytes"
            )
        if dtype.itemsize == 0:
            raise ValueError(f"cannot view memory as {dtype}, which has no size")
        dims = _shape(shape, available // dtype.itemsize)
        count = math.prod(dims)
        if count * dtype.itemsize > available:
            raise ValueError(
                f"an array of shape {dims} and dtype {dtype} needs "
                f"{count * dtype.itemsize} bytes; the mapping has {available} "
                f"from offset {offset}"
            )
        # frombuffer holds a buffer export, so the mapping cannot close or
        # move under the array (np.ndarray(buffer=...) does not).
        flat = np.frombuffer(memoryview(self), dtype=dtype, count=count, offset=offset)
        return flat.reshape(dims, order=order)


def _shape(shape: int | Sequence[int] | None, fits: int) -> tuple[int, ...]:
    if shape is None:
        return (fits,)
    dims = (
        (operator.index(shape),)
        if not isinstance(shape, Sequence)
        else tuple(operator.index(n) for n in shape)
    )
    if any(n < 0 for n in dims):
        raise ValueError(f"negative dimensions are not allowed: {dims}")
    return dims


def _extra_flags(*, populate: bool, noreserve: bool, locked: bool) -> int:
    return (
        (_core.MAP_POPULATE if populate else 0)
        | (_core.MAP_NORESERVE if noreserve else 0)
        | (_core.MAP_LOCKED if locked else 0)
    )


def _hugepage_flags(hugepages: bool | int) -> int:
    if hugepages is False:
        return 0
    if hugepages is True:
        return _core.MAP_HUGETLB
    size = operator.index(hugepages)
    offered = _core.huge_page_sizes()
    if size not in offered:
        raise ValueError(
            f"hugepages={size}: the kernel offers huge pages of "
            f"{', '.join(map(str, offered)) or 'no size'} bytes"
        )
    return _core.MAP_HUGETLB | (size.bit_length() - 1) << _core.MAP_HUGE_SHIFT


def map_anonymous(
    size: int,
    *,
    shared: bool = True,
    prot: int = _core.PROT_READ | _core.PROT_WRITE,
    populate: bool = False,
    hugepages: bool | int = False,
    noreserve: bool = False,
    locked: bool = False,
) -> Mapping:
    """Map ``size`` bytes of anonymous memory, filled with zeros.

    ``shared=True``: a forked child shares the memory, and writes on either
    side are seen by both.  ``shared=False``: private copy-on-write memory; a
    child gets its own copy of each page the moment either side writes it.

    ``populate`` faults every page in now (``MAP_POPULATE``); ``noreserve``
    reserves no swap (``MAP_NORESERVE``); ``locked`` locks the pages in memory
    (``MAP_LOCKED``, limited by ``RLIMIT_MEMLOCK``).  ``hugepages=True`` maps
    huge pages from the kernel's pool (``MAP_HUGETLB``), or pass a huge page
    size in bytes; an ``OSError`` explains when the pool has too few pages.
    """
    flags = _extra_flags(populate=populate, noreserve=noreserve, locked=locked)
    flags |= _hugepage_flags(hugepages)
    return Mapping(_core.map_anonymous(size, shared, prot, flags))


def map_file(
    path_or_fd: Path | int,
    size: int | None = None,
    *,
    offset: int = 0,
    mode: FileMode = "r+",
    populate: bool = False,
    noreserve: bool = False,
    locked: bool = False,
) -> Mapping:
    """Map ``size`` bytes of a file from ``offset`` (the rest of it if no size).

    ``mode`` follows :class:`numpy.memmap`: ``"r"`` read-only, ``"r+"`` read
    and write, shared with the file and every other process that maps it,
    ``"w+"`` create or overwrite the file with ``offset + size`` bytes, ``"c"``
    copy-on-write: writes stay private to this mapping and never reach the
    file.  Any ``offset`` works, not only page multiples.

    A mapping never reaches past the end of the file, where a touch would
    raise SIGBUS: asking for more raises ``ValueError`` (unlike
    ``numpy.memmap``, ``"r+"`` does not grow the file; :meth:`Mapping.resize`
    does).  ``populate``, ``noreserve`` and ``locked`` are as for
    :func:`map_anonymous`.
    """
    flags = _extra_flags(populate=populate, noreserve=noreserve, locked=locked)
    if isinstance(path_or_fd, bool):
        raise TypeError("path_or_fd must be a path or a file descriptor, not bool")
    if isinstance(path_or_fd, int):
        return Mapping(_core.map_fd(path_or_fd, mode, size, offset, flags))
    path = os.fsencode(path_or_fd)
    return Mapping(_core.map_path(path, mode, size, offset, flags))
