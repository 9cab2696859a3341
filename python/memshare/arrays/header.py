"""The header of a named array segment: an ``.npy`` header (the format of
:mod:`numpy.lib.format`), padded to whole pages so that the data after it is
page aligned.  A named array's segment is therefore also a valid ``.npy``
file: ``numpy.load("/dev/shm/NAME", mmap_mode="r")`` reads it."""

from __future__ import annotations

import ast
import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.lib.format as npy

from .. import _core

# \x93NUMPY, format version 2.0: a 4-byte header length.
_MAGIC = npy.magic(2, 0)
_PREFIX = len(_MAGIC) + 4


@dataclass(frozen=True)
class ArrayHeader:
    dtype: np.dtype[np.generic]
    shape: tuple[int, ...]
    fortran_order: bool
    data_offset: int  # a multiple of the page size

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def encode(
    dtype: np.dtype[np.generic], shape: tuple[int, ...], fortran_order: bool
) -> bytes:
    """The header bytes, a whole number of pages long."""
    fields = {
        "descr": npy.dtype_to_descr(dtype),
        "fortran_order": fortran_order,
        "shape": shape,
    }
    text = "{" + "".join(f"{key!r}: {value!r}, " for key, value in fields.items()) + "}"
    size = _PREFIX + len(text) + 1
    total = -(-size // _core.PAGESIZE) * _core.PAGESIZE
    body = text.encode("latin1") + b" " * (total - size) + b"\n"
    return _MAGIC + struct.pack("<I", len(body)) + body


# Bounds that keep a damaged header from costing more than a small one: its
# length (memshare writes a page or two), and how deeply brackets may nest
# (a structured dtype nests a level per field level).
MAX_HEADER = 1 << 16
_MAX_DEPTH = 32
_KEYS = {"descr", "fortran_order", "shape"}


def _nesting(text: str) -> int:
    """How deeply the brackets of `text` nest outside its string literals;
    ValueError if a string does not end."""
    depth = deepest = 0
    quote = ""
    escaped = False
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    if quote:
        raise ValueError("a string in it does not end")
    return deepest


def _fields(text: str) -> dict[str, Any]:
    """The dictionary the header text spells, or ValueError."""
    if not text.endswith("\n"):
        raise ValueError("it does not end with a newline")
    text = text[:-1]
    if not text.isascii() or not text.isprintable():
        raise ValueError("it holds bytes that are not printable ASCII")
    if _nesting(text) > _MAX_DEPTH:
        raise ValueError(f"its brackets nest deeper than {_MAX_DEPTH}")
    try:
        fields = ast.literal_eval(text)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        raise ValueError("it is not a Python literal") from None
    if not isinstance(fields, dict) or set(fields) != _KEYS:
        raise ValueError(f"it is not a dictionary of exactly {sorted(_KEYS)}")
    return fields


def _parse(text: str) -> tuple[np.dtype[np.generic], tuple[int, ...], bool]:
    fields = _fields(text)
    shape, fortran_order = fields["shape"], fields["fortran_order"]
    if not isinstance(shape, tuple) or not all(
        type(n) is int and n >= 0 for n in shape
    ):
        raise ValueError(f"its shape {shape!r} is not a tuple of sizes")
    if len(shape) > _MAX_DEPTH:
        raise ValueError(f"its shape has more than {_MAX_DEPTH} dimensions")
    if not isinstance(fortran_order, bool):
        raise ValueError(f"its fortran_order {fortran_order!r} is not a bool")  # noqa: TRY004 - bytes read, not an argument
    try:
        dtype = npy.descr_to_dtype(fields["descr"])
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as error:
        raise ValueError(f"its descr names no dtype ({error})") from None
    return dtype, shape, fortran_order


def decode(name: str, data: bytes, segment_size: int) -> ArrayHeader:
    """The header at the start of segment `name`, or ValueError that says why
    it is not one memshare can use.  Parsed here, with every size bounded, so
    that no damage costs more than a ValueError."""
    if len(data) < _PREFIX or not data.startswith(_MAGIC[:6]):
        raise ValueError(
            f"shared memory {name!r} holds no memshare array: it does not start "
            "with an array header (it was made by something else)"
        )
    length = header_length(data)
    if data[6:8] not in (b"\x01\x00", b"\x02\x00", b"\x03\x00"):
        raise ValueError(
            f"the array header of {name!r} is damaged: it has no .npy version memshare "
            "reads (1.0, 2.0 or 3.0)"
        )
    if length > min(len(data), MAX_HEADER):
        raise ValueError(
            f"the array header of {name!r} is damaged: it says it is {length} bytes "
            f"long, more than its segment or memshare's bound of {MAX_HEADER} holds"
        )
    start = len(_MAGIC) + (2 if data[6] == 1 else 4)
    try:
        text = data[start:length].decode("utf-8" if data[6] == 3 else "latin1")
        dtype, shape, fortran_order = _parse(text)
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"the array header of {name!r} is damaged: {error}") from None
    header = ArrayHeader(dtype, shape, fortran_order, length)
    if dtype.hasobject:
        raise ValueError(
            f"the array {name!r} holds Python objects, which cannot be shared"
        )
    if (
        header.data_offset % _core.PAGESIZE
        or header.data_offset + header.nbytes > segment_size
    ):
        raise ValueError(
            f"the array header of {name!r} is damaged: it puts {header.nbytes} bytes "
            f"at offset {header.data_offset} of a segment of {segment_size}"
        )
    return header


def header_length(data: bytes) -> int:
    """How many bytes of `data` the header needs, from its first bytes (its
    version says whether its length has 2 bytes or 4)."""
    if len(data) < _PREFIX:
        return _PREFIX
    if data[6] == 1:
        (length,) = struct.unpack_from("<H", data, len(_MAGIC))
        return len(_MAGIC) + 2 + int(length)
    (length,) = struct.unpack_from("<I", data, len(_MAGIC))
    return _PREFIX + int(length)
