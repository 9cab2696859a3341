"""The header of a named array segment: an ``.npy`` header (the format of
:mod:`numpy.lib.format`), padded to whole pages so that the data after it is
page aligned.  A named array's segment is therefore also a valid ``.npy``
file: ``numpy.load("/dev/shm/NAME", mmap_mode="r")`` reads it."""

from __future__ import annotations

import io
import math
import struct
from dataclasses import dataclass

import numpy as np
import numpy.lib.format as npy

from . import _core

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


def decode(name: str, data: bytes, segment_size: int) -> ArrayHeader:
    """The header at the start of segment `name`, or ValueError that says why
    it is not one memshare can use."""
    if len(data) < _PREFIX or not data.startswith(_MAGIC[:6]):
        raise ValueError(
            f"shared memory {name!r} holds no memshare array: it does not start "
            "with an array header (it was made by something else)"
        )
    stream = io.BytesIO(data)
    try:
        version = npy.read_magic(stream)
        read = (
            npy.read_array_header_2_0
            if version >= (2, 0)
            else npy.read_array_header_1_0
        )
        shape, fortran_order, dtype = read(stream, max_header_size=len(data))
    except (ValueError, SyntaxError, TypeError) as error:
        raise ValueError(f"the array header of {name!r} is damaged: {error}") from None
    header = ArrayHeader(dtype, tuple(shape), fortran_order, stream.tell())
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
    """How many bytes of `data` the header needs, from its first bytes."""
    if len(data) < _PREFIX:
        return _PREFIX
    (length,) = struct.unpack_from("<I", data, len(_MAGIC))
    return _PREFIX + int(length)
