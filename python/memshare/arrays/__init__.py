"""Shared NumPy arrays: the constructors (NumPy's, plus ``name=``), the
header of named array segments, the handles arrays travel as between
processes (:mod:`.pickling`), and the memory kept for reuse."""

from . import pickling
from .constructors import (
    Backing,
    array,
    asarray,
    attach,
    backing,
    empty,
    empty_like,
    full,
    full_like,
    is_shared,
    ones,
    ones_like,
    populate,
    unlink,
    zeros,
    zeros_like,
)
from .recycling import release_unused

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
    "release_unused",
    "unlink",
    "zeros",
    "zeros_like",
]

# An array sent through multiprocessing travels as a handle to its memory.
pickling.register()
