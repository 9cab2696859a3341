"""NumPy arrays in shared memory.

``zeros``, ``empty``, ``ones``, ``full``, their ``*_like`` forms, ``array``
and ``asarray`` take NumPy's arguments and return plain ``numpy.ndarray``
objects whose memory is shared: sent to another process through
multiprocessing (or concurrent.futures), such an array, or any view of it,
travels as a small handle and the receiver maps the same memory.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .. import _core
from ..explore import _html
from ..mapping import Mapping
from ..shm.calls import Name, _encode
from . import _registry
from . import header as array_header

__all__ = [
    "Backing",
    "array",
    "asarray",
    "attach",
    "backing",
    "empty",
    "empty_like",
    "full",
    "full_like",
    "is_shared",
    "ones",
    "ones_like",
    "populate",
    "unlink",
    "zeros",
    "zeros_like",
]

Array = npt.NDArray[Any]
ShapeLike = int | Sequence[int]
Order = Literal["C", "F"]
LikeOrder = Literal["K", "A", "C", "F"]


def _shape(shape: ShapeLike) -> tuple[int, ...]:
    if isinstance(shape, Sequence):
        dims = tuple(operator.index(n) for n in shape)
    else:
        dims = (operator.index(shape),)
    if any(n < 0 for n in dims):
        raise ValueError(f"negative dimensions are not allowed: {dims}")
    return dims


def _shareable(dtype: npt.DTypeLike) -> np.dtype[Any]:
    resolved = np.dtype(dtype)
    if resolved.hasobject:
        raise TypeError(
            f"arrays of dtype {resolved} hold pointers to Python objects, which mean "
            "nothing in another process; they cannot be shared"
        )
    return resolved


def _order(order: LikeOrder | None) -> Order:
    if order in (None, "C"):
        return "C"
    if order == "F":
        return "F"
    raise ValueError(f"order must be 'C' or 'F', not {order!r}")


def _no_like(like: object) -> None:
    if like is not None:
        raise TypeError("like= is not supported: memshare arrays are NumPy arrays")


def _new(
    shape: ShapeLike,
    dtype: npt.DTypeLike,
    order: LikeOrder | None,
    name: Name | None,
    *,
    zero: bool,
) -> Array:
    """A new shared array: zero-filled if `zero` (or named), else holding
    what recycled memory held, as numpy.empty does."""
    resolved, dims, layout = _shareable(dtype), _shape(shape), _order(order)
    nbytes = math.prod(dims) * resolved.itemsize
    size = max(nbytes, 1)  # a mapping has at least one byte
    if name is None:
        raw, identity = _core.new_array_memory(nbytes, zero)  # keeps its memfd
        mapping = Mapping(raw)
        source = _registry.Source("anonymous", identity)
        data_offset = 0
    else:
        header = array_header.encode(resolved, dims, layout == "F")
        bare, raw, identity = _core.create_segment(
            _encode(name), len(header) + size, 0o600, True, False, keep_fd=False
        )
        mapping = Mapping(raw)
        mapping[: len(header)] = header
        source = _registry.Source("named", identity, name=bare)
        data_offset = len(header)
    _registry.add(mapping, source)
    return mapping.view(resolved, dims, data_offset, layout)


def zeros(
    shape: ShapeLike,
    dtype: npt.DTypeLike = float,
    order: Order = "C",
    *,
    like: None = None,
    name: Name | None = None,
) -> Array:
    """A shared array of zeros, as :func:`numpy.zeros`.

    ``name=None`` (the default) makes anonymous memory: the kernel reclaims it
    when the last process holding it ends, even by SIGKILL, and nothing
    appears in /dev/shm.  ``name="x"`` makes the named segment ``x``, which
    any process can :func:`attach` and which stays until :func:`unlink`.
    """
    _no_like(like)
    return _new(shape, dtype, order, name, zero=True)


def empty(
    shape: ShapeLike,
    dtype: npt.DTypeLike = float,
    order: Order = "C",
    *,
    like: None = None,
    name: Name | None = None,
) -> Array:
    """A shared array, as :func:`numpy.empty`: its values are whatever its
    memory held (zeros if it is new; memory recycled from arrays this process
    let go of keeps what they held)."""
    _no_like(like)
    return _new(shape, dtype, order, name, zero=False)


def full(
    shape: ShapeLike,
    fill_value: Any,
    dtype: npt.DTypeLike | None = None,
    order: Order = "C",
    *,
    like: None = None,
    name: Name | None = None,
) -> Array:
    """A shared array filled with ``fill_value``, as :func:`numpy.full`."""
    _no_like(like)
    if dtype is None:
        dtype = np.asarray(fill_value).dtype
    result = _new(shape, dtype, order, name, zero=False)
    np.copyto(result, fill_value, casting="unsafe")
    return result


def ones(
    shape: ShapeLike,
    dtype: npt.DTypeLike | None = None,
    order: Order = "C",
    *,
    like: None = None,
    name: Name | None = None,
) -> Array:
    """A shared array of ones, as :func:`numpy.ones`."""
    return full(
        shape, 1, float if dtype is None else dtype, order, like=like, name=name
    )


def _like_layout(prototype: Any, order: LikeOrder) -> tuple[Array, Order]:
    source = np.asanyarray(prototype)
    if order in ("K", "A"):
        fortran = source.flags.f_contiguous and not source.flags.c_contiguous
        return source, "F" if fortran else "C"
    return source, _order(order)


def _like_device(device: object) -> None:
    if device not in (None, "cpu"):
        raise ValueError(f"shared memory lives on the CPU, not on {device!r}")


def _new_like(
    prototype: npt.ArrayLike,
    dtype: npt.DTypeLike | None,
    order: LikeOrder,
    shape: ShapeLike | None,
    device: object,
    name: Name | None,
    *,
    zero: bool,
) -> Array:
    _like_device(device)
    source, layout = _like_layout(prototype, order)
    shape = source.shape if shape is None else shape
    return _new(
        shape, source.dtype if dtype is None else dtype, layout, name, zero=zero
    )


def empty_like(
    prototype: npt.ArrayLike,
    dtype: npt.DTypeLike | None = None,
    order: LikeOrder = "K",
    subok: bool = True,
    shape: ShapeLike | None = None,
    *,
    device: object = None,
    name: Name | None = None,
) -> Array:
    """A shared array with the shape and dtype of ``prototype``, as
    :func:`numpy.empty_like`; always a plain ``ndarray`` (``subok`` is
    accepted for compatibility).  ``order="K"`` keeps a Fortran-ordered
    prototype's order; other layouts become C order."""
    return _new_like(prototype, dtype, order, shape, device, name, zero=False)


def zeros_like(
    a: npt.ArrayLike,
    dtype: npt.DTypeLike | None = None,
    order: LikeOrder = "K",
    subok: bool = True,
    shape: ShapeLike | None = None,
    *,
    device: object = None,
    name: Name | None = None,
) -> Array:
    """A shared array of zeros shaped like ``a``, as :func:`numpy.zeros_like`."""
    return _new_like(a, dtype, order, shape, device, name, zero=True)


def full_like(
    a: npt.ArrayLike,
    fill_value: Any,
    dtype: npt.DTypeLike | None = None,
    order: LikeOrder = "K",
    subok: bool = True,
    shape: ShapeLike | None = None,
    *,
    device: object = None,
    name: Name | None = None,
) -> Array:
    """A shared array shaped like ``a`` and filled, as :func:`numpy.full_like`."""
    result = empty_like(a, dtype, order, subok, shape, device=device, name=name)
    np.copyto(result, fill_value, casting="unsafe")
    return result


def ones_like(
    a: npt.ArrayLike,
    dtype: npt.DTypeLike | None = None,
    order: LikeOrder = "K",
    subok: bool = True,
    shape: ShapeLike | None = None,
    *,
    device: object = None,
    name: Name | None = None,
) -> Array:
    """A shared array of ones shaped like ``a``, as :func:`numpy.ones_like`."""
    return full_like(a, 1, dtype, order, subok, shape, device=device, name=name)


def array(
    object: npt.ArrayLike,
    dtype: npt.DTypeLike | None = None,
    *,
    copy: bool | None = True,
    order: LikeOrder = "K",
    subok: bool = False,
    ndmin: int = 0,
    like: None = None,
    name: Name | None = None,
) -> Array:
    """The data of ``object`` in a shared array, as :func:`numpy.array`.

    With ``copy=False`` or ``None`` an array that is already shared, and of
    the dtype asked for, comes back as it is (``copy=False`` then raises, as
    NumPy does, if a copy would be needed).
    """
    _no_like(like)
    source = np.asarray(object, dtype=dtype, order=order)
    if source.ndim < ndmin:
        source = source.reshape((1,) * (ndmin - source.ndim) + source.shape)
    if copy is not True and name is None and is_shared(source):
        return source
    if copy is False:
        raise ValueError("unable to avoid a copy: the data is not in shared memory")
    result = empty_like(source, order=order, name=name)
    prefault(result)
    np.copyto(result, source)
    return result


# From this size, memory about to be written whole is faulted in first: one
# system call maps its pages in bulk, where the copy would fault page by
# page (a 1 GiB copy into new memory takes 0.45 s instead of 0.75 here).
_PREFAULT_FROM = 1 << 20


def prefault(a: Array) -> None:
    """Fault in the pages of the new shared array `a` if it is large, before
    it is written whole."""
    if a.nbytes >= _PREFAULT_FROM:
        populate(a, write=True)


def asarray(
    a: npt.ArrayLike,
    dtype: npt.DTypeLike | None = None,
    order: LikeOrder | None = None,
    *,
    like: None = None,
    name: Name | None = None,
) -> Array:
    """``a`` if it is a shared array already, else a shared copy of it, as
    :func:`numpy.asarray` (with ``name``, always a new named array)."""
    return array(a, dtype, copy=None, order=order or "K", like=like, name=name)


def attach(name: Name, readonly: bool = False) -> Array:
    """The named shared array ``name``, as any process made it.

    Raises ``FileNotFoundError`` if there is none, and ``ValueError`` if the
    segment holds no memshare array or its header is damaged.
    """
    bare, raw, identity = _core.open_segment(_encode(name), readonly, keep_fd=False)
    mapping = Mapping(raw)
    first = mapping[: min(len(mapping), _core.PAGESIZE)]
    needed = array_header.header_length(first)
    data = mapping[: min(len(mapping), needed, array_header.MAX_HEADER)]
    header = array_header.decode(bare, data, len(mapping))
    _registry.add(mapping, _registry.Source("named", identity, name=bare))
    order: Order = "F" if header.fortran_order else "C"
    return mapping.view(header.dtype, header.shape, header.data_offset, order)


def unlink(name: Name) -> None:
    """Remove the named array ``name``; processes using it keep it until
    they let go."""
    _core.shm_unlink(_encode(name))


def populate(a: Array, write: bool = False) -> None:
    """Fault every page of the shared array ``a`` in now, in one system call
    (``MADV_POPULATE_READ``, or ``MADV_POPULATE_WRITE`` with ``write=True``)
    instead of one page fault per page at first touch: for a worker about
    to read all of an array it just received.  ``ValueError`` if ``a`` is
    not in memory memshare shares."""
    low, high = _registry.bounds(a)
    found = _registry.find_range(low, high)
    if found is None:
        raise ValueError(
            "populate() takes an array in memory that memshare shares; this one is not"
        )
    entry, mapping = found
    if high > low:
        mapping.populate(write, low - entry.start, high - low)


def is_shared(a: object) -> bool:
    """Whether ``a`` is an array whose memory memshare shares."""
    return isinstance(a, np.ndarray) and _registry.find(a) is not None


@dataclass(frozen=True)
class Backing:
    """The shared memory behind an array.

    ``kind`` is ``"anonymous"`` (a memfd, gone with the last process that
    holds it) or ``"named"`` (the segment ``name`` in /dev/shm).  ``offset``
    and ``nbytes`` are where the array's bytes lie in the segment of ``size``
    bytes.
    """

    kind: Literal["anonymous", "named"]
    name: str | None
    offset: int
    nbytes: int
    size: int

    def _repr_html_(self) -> str:
        return _html.table(
            "memshare.Backing",
            ["kind", "name", "offset", "bytes", "segment size"],
            [
                [
                    self.kind,
                    self.name or "",
                    self.offset,
                    _html.size(self.nbytes),
                    _html.size(self.size),
                ]
            ],
        )


def backing(a: npt.NDArray[Any]) -> Backing | None:
    """What shared memory backs ``a``, or ``None`` if none does."""
    low, high = _registry.bounds(a)
    found = _registry.find_range(low, high)
    if found is None:
        return None
    entry, mapping = found
    return Backing(
        entry.source.kind,
        entry.source.name,
        low - entry.start,
        high - low,
        len(mapping),
    )
