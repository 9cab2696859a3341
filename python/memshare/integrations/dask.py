"""memshare in Dask distributed: data between processes of one host goes
through shared memory.

distributed sends every piece of data (``scatter``, a task's result fetched
by another worker, ``gather``) as frames over TCP, and the receiver copies
them in: a 1 GiB array scattered to N workers on one machine is N copies.
Enabled (:func:`enable`, or the preload config key), memshare takes over
the serialization of NumPy arrays and Arrow tables (distributed's "dask"
serializers) and of whatever distributed pickles (its "pickle" family) when
the peer is on the same host, as distributed itself tells from the peers'
addresses:

- a memshare array, and whatever lies in shared memory already (an object
  a peer sent this way, ``ms.share``'s objects), goes as its handle;
- other data of 64 KiB or more is copied once into shared memory and goes
  as the handle of that: the receiver maps it, no copy.  A worker that
  sends it on (``replicate``, another worker fetching it) sends the handle;
- everything else, and everything between hosts, goes as distributed sends
  it, bit for bit.

The handles go as a plain pickle, in a frame distributed's own
deserializers read (its array deserializer unpickles a "pickle" frame):
a peer that has not enabled memshare, a worker of another cluster say,
enables it by unpickling the first, instead of failing on a header it
does not know.  Arrow tables step aside to the "pickle" family for this.

A handle carries the sending host's identity (its boot, pid and network
namespaces): arriving anywhere else, it is refused with a clear error
instead of naming someone else's memory.  ``memshare.dask.same-host:
never`` in Dask's config turns the shared path off (to compare, or to test
the cross-host path on one machine).
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Callable
from typing import Any

import dask.config
import numpy as np
from distributed.comm.addressing import get_address_host
from distributed.diagnostics.plugin import SchedulerPlugin, WorkerPlugin
from distributed.protocol import numpy as _dask_numpy  # noqa: F401 - registers them
from distributed.protocol.serialize import (
    dask_serialize,
    families,
    register_serialization_family,
)

from ..queues import items
from .host import HOST, refuse_other_host

__all__ = ["MemsharePlugin", "dask_setup", "enable"]

Header = dict[str, Any]
Frames = list[Any]
Dumps = Callable[..., tuple[Header, Frames]]


def _same_host(context: dict[str, Any] | None) -> bool:
    """Whether the peers of this message are on one host, as their addresses
    say (distributed's own test); False when they are not known (data
    written to disk by the spilling of a worker, say)."""
    if not context or dask.config.get("memshare.dask.same-host", "auto") == "never":
        return False
    try:
        sender = context["sender"]["address"]
        recipient = context["recipient"]["address"]
        return bool(get_address_host(sender) == get_address_host(recipient))
    except (KeyError, TypeError, ValueError):
        return False


class _Shared:
    """Data in shared memory on its way to a peer: memshare's record of it
    (``queues/items.py``), pickled as a call of :func:`_rebuild`.  The frame
    is a plain pickle, read by distributed's own deserializers too: a peer
    that has not enabled memshare imports this module by unpickling it (and
    enables it), instead of failing on a header it does not know."""

    def __init__(self, payload: Any, flags: int) -> None:
        self.payload = bytes(payload)
        self.flags = flags

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (self.payload, self.flags, HOST)


def _rebuild(payload: bytes, flags: int, host: str) -> Any:
    refuse_other_host(
        host,
        "set memshare.dask.same-host: never in the Dask config of hosts that "
        "share addresses but not memory",
    )
    return items.decode(payload, flags)


def _shared(x: object, context: dict[str, Any] | None) -> bytes | None:
    """`x` as the pickled handles of shared memory, if the peer is on this
    host and `x` holds data worth it; else None."""
    if not _same_host(context):
        return None
    payload, flags = items.encode(x, items.BIG)
    if not flags & items.HANDLES:
        return None  # nothing large: as distributed sends it
    return pickle.dumps(_Shared(payload, flags), protocol=pickle.HIGHEST_PROTOCOL)


def _wrap_numpy() -> None:
    """memshare's serializer of NumPy arrays in distributed's "dask" family,
    over distributed's (which still serves what memshare passes on)."""
    theirs: Dumps = dask_serialize.dispatch(np.ndarray)
    if getattr(theirs, "memshare", False):
        return

    def dumps(x: Any, context: dict[str, Any] | None = None) -> tuple[Header, Frames]:
        found = _shared(x, context)
        if found is None:
            return theirs(x, context=context)
        # distributed's deserializer of arrays unpickles a "pickle" frame.
        return {"pickle": True, "memshare": True}, [found]

    dumps.memshare = True  # type: ignore[attr-defined]
    dask_serialize.register(np.ndarray, dumps)


def _wrap_arrow() -> None:
    """Arrow tables and record batches between processes of one host go by
    the "pickle" family (memshare's, below) instead of distributed's Arrow
    IPC stream, which its receivers copy in."""
    import pyarrow as pa
    from distributed.protocol import arrow  # noqa: F401 - theirs, before ours

    for kind in (pa.Table, pa.RecordBatch):
        theirs: Dumps = dask_serialize.dispatch(kind)
        if getattr(theirs, "memshare", False):
            continue

        def dumps(
            x: Any, context: dict[str, Any] | None = None, *, theirs: Dumps = theirs
        ) -> tuple[Header, Frames]:
            if _same_host(context) and x.nbytes >= items.BIG:
                # Not for this family: serialize() tries the next, "pickle".
                raise NotImplementedError("memshare: through shared memory")
            return theirs(x)  # Arrow's take no context

        dumps.memshare = True  # type: ignore[attr-defined]
        dask_serialize.register(kind, dumps)


def _wrap_pickle() -> None:
    theirs: Dumps
    theirs, loads, _ = families["pickle"]
    if getattr(theirs, "memshare", False):
        return

    def dumps(x: Any, context: dict[str, Any] | None = None) -> tuple[Header, Frames]:
        found = _shared(x, context)
        if found is None:
            return theirs(x, context=context)
        return {"serializer": "pickle", "writeable": (), "memshare": True}, [found]

    dumps.memshare = True  # type: ignore[attr-defined]
    register_serialization_family("pickle", dumps, loads)


def register() -> None:
    """Take over the serialization of this process (idempotent): enough
    where every process that sends or receives data calls it."""
    _wrap_numpy()
    _wrap_pickle()
    if "pyarrow" in sys.modules:
        _wrap_arrow()
    else:  # when pyarrow is first met, as distributed registers its own
        dask_serialize.register_lazy("pyarrow", _wrap_arrow)


class MemsharePlugin(WorkerPlugin):
    """Registers memshare's serialization in each worker, those started later
    included."""

    name = "memshare"

    def setup(self, worker: Any) -> None:
        register()


class MemshareSchedulerPlugin(SchedulerPlugin):
    """Registers memshare's serialization in the scheduler."""

    name = "memshare-scheduler"

    async def start(self, scheduler: Any) -> None:
        register()


def enable(client: Any = None) -> None:
    """Send data between the processes of one host through shared memory:
    here, and, given a ``distributed.Client``, in its scheduler and every
    worker of its cluster (now and later).  Call it before the data moves::

        client = Client(LocalCluster(n_workers=4))
        memshare.integrations.dask.enable(client)
        [big] = client.scatter([array], broadcast=True)  # one copy in all

    Or, without a call, have every process load this module through Dask's
    config: ``distributed.worker.preload`` and
    ``distributed.scheduler.preload`` set to ``memshare.integrations.dask``
    (and ``import memshare.integrations.dask`` in the client).
    """
    register()
    if client is not None:
        client.register_plugin(MemshareSchedulerPlugin())
        client.register_plugin(MemsharePlugin())


def dask_setup(service: Any) -> None:
    """The preload hook: a worker or a scheduler that loads this module
    through ``distributed.*.preload`` registers memshare's serialization."""
    register()


register()
