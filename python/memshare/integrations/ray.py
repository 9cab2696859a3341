"""memshare arrays and objects through Ray: by handle, writable, on a node.

Ray pickles a task's arguments and results with its own pickler
(cloudpickle at protocol 5): the data of a NumPy array goes out of band into
its object store, and a task on the node reads it from there as a read-only
view.  A memshare array goes the same way, copied: the task cannot write into
the caller's memory, and what it writes is lost.

:func:`enable` registers memshare's serializer of NumPy arrays (and of
Arrow's buffers, where pyarrow is installed) with Ray's own hook,
``ray.util.register_serializer``, in the process that calls it:

- an array (or Arrow buffer) in memshare's memory goes as its handle, a few
  hundred bytes: the task maps the same memory, writable if the caller's
  array is, and the caller sees what it writes;
- any other array goes exactly as Ray sends it (its reduction at protocol
  5: the data out of band, into the object store, read without a copy).

An :class:`memshare.ObjectRef` is its handle through any pickler, Ray's
too, with or without :func:`enable`.

Ray's registrations are per process.  Call :func:`enable` in the driver, and
have Ray call it in each worker, so that shared arrays a task returns or
passes on go by handle too::

    ray.init(runtime_env={"worker_process_setup_hook": "memshare.integrations.ray.enable"})
    memshare.integrations.ray.enable()

(A worker that receives a handle enables itself.)

Ray keeps the handle, not the memory: as with multiprocessing, the caller
keeps the array while tasks use it.  A handle names memory of this node,
and carries the node's identity: on another node it is refused with an
error that says so (pin the tasks that take shared arrays to the caller's
node), never taken for memory there.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import ray.util

from ..arrays.pickling import rebuild_ndarray, reduce_ndarray
from ..objects import arrow
from .host import HOST, refuse_other_host

__all__ = ["enable"]

# How an object is rebuilt (pickle's reduce value), and the identity of the
# host whose memory it names if it is a handle (None if it is not).
Serialized = tuple[str | None, tuple[Any, ...]]

_HANDLES = (rebuild_ndarray, arrow.rebuild_buffer)
_OTHER_NODE = (
    "Ray ran the task on another node than its caller's. Shared memory does not "
    "leave its node: pin the tasks that take memshare arrays to the caller's node "
    "(ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy)"
)
_registered: set[str] = set()


def _serialized(reduced: object) -> Serialized:
    assert isinstance(reduced, tuple)  # not a global's name: arrays are no globals
    return (HOST if reduced[0] in _HANDLES else None), reduced


def _serialize_array(a: np.ndarray[Any, Any]) -> Serialized:
    # Ray pickles at protocol 5: data not shared goes out of band, as before.
    return _serialized(reduce_ndarray(a, protocol=5))


def _serialize_buffer(buffer: Any) -> Serialized:
    return _serialized(arrow.reduce_buffer(buffer, protocol=5))


def _deserialize(serialized: Serialized) -> Any:
    host, (rebuild, arguments, *state) = serialized
    if host is not None:
        refuse_other_host(host, _OTHER_NODE)
        enable()  # so that this worker sends shared memory back by handle
    rebuilt = rebuild(*arguments)
    if state and state[0] is not None:  # NumPy's reduction of strided arrays
        rebuilt.__setstate__(state[0])
    return rebuilt


def enable() -> None:
    """Have Ray send memshare's arrays (and Arrow buffers) from this process
    as handles of their shared memory, and every other array as before
    (idempotent).  Ray's worker setup hook, too (see the module's help)."""
    if "numpy" not in _registered:
        # Ray's first serialization context loads pyarrow, where installed.
        ray.util.register_serializer(
            np.ndarray, serializer=_serialize_array, deserializer=_deserialize
        )
        _registered.add("numpy")
    if "pyarrow" not in _registered and "pyarrow" in sys.modules:
        import pyarrow as pa  # loaded already

        ray.util.register_serializer(
            pa.Buffer, serializer=_serialize_buffer, deserializer=_deserialize
        )
        _registered.add("pyarrow")
