"""Arrow buffers in shared memory travel by handle.

multiprocessing pickles a NumPy array over shared memory as a handle
(``arrays/pickling.py``), so a pandas DataFrame rebuilt by ``ms.share``
travels by handle with no more ado.  Arrow's buffers are not NumPy arrays:
this registers a reducer for ``pyarrow.Buffer`` with multiprocessing's
pickler that sends a buffer lying in memshare's memory as the handle of that
memory, and any other buffer as Arrow pickles it.  memshare does not import
pyarrow: the reducer is registered once pyarrow is loaded and memshare
meets an object (``put``, ``ObjectRef.get``, a buffer arriving).
"""

from __future__ import annotations

import pickle
import sys
from functools import partial
from multiprocessing.reduction import ForkingPickler
from typing import Any

import numpy as np

from ..arrays.constructors import is_shared
from ..arrays.pickling import rebuild_ndarray, reduce_ndarray

__all__: list[str] = []

_registered = False
# The reducers for picklers at protocol 5 (memshare's queues), where data
# that is not shared goes out of band; a dispatch table's reducer is not told
# the protocol.
AT_PROTOCOL_5: dict[type, Any] = {}


def register_if_loaded() -> None:
    """Register the reducer, if pyarrow is loaded and it is not yet."""
    global _registered
    if _registered or "pyarrow" not in sys.modules:
        return
    import pyarrow as pa  # loaded already

    ForkingPickler.register(pa.Buffer, reduce_buffer)
    AT_PROTOCOL_5[pa.Buffer] = partial(reduce_buffer, protocol=5)
    _registered = True


def reduce_buffer(
    buffer: Any, protocol: int = pickle.DEFAULT_PROTOCOL
) -> tuple[Any, ...]:
    view = np.frombuffer(buffer, np.uint8) if buffer.size else None
    # Looked up first: reduce_ndarray of memory not shared would pickle it.
    if view is not None and is_shared(view):
        reduced = reduce_ndarray(view)
        assert isinstance(reduced, tuple)  # a handle
        return rebuild_buffer, (reduced[1],)
    # multiprocessing's pickler is at the default protocol (4 up to Python
    # 3.13), where Arrow pickles the bytes in band.
    reduced = buffer.__reduce_ex__(protocol)
    assert isinstance(reduced, tuple)
    return reduced


def rebuild_buffer(arguments: tuple[Any, ...]) -> Any:
    import pyarrow as pa  # a buffer's arrival loads it, as unpickling would

    register_if_loaded()
    return pa.py_buffer(rebuild_ndarray(*arguments))
