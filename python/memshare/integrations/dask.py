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

A handle carries the sending host's identity (its boot, pid and network
namespaces): arriving anywhere else, it is refused with a clear error
instead of naming someone else's memory.  ``memshare.dask.same-host:
never`` in Dask's config turns the shared path off (to compare, or to test
the cross-host path on one machine).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import dask.config
import numpy as np
from dask.utils import has_keyword
from distributed.comm.addressing import get_address_host
from distributed.diagnostics.plugin import SchedulerPlugin, WorkerPlugin
from distributed.protocol import numpy as _dask_numpy  # noqa: F401 - registers them
from distributed.protocol.serialize import (
    dask_deserialize,
    dask_serialize,
    families,
    register_serialization_family,
)

from ..queues import items

__all__ = ["MemsharePlugin", "dask_setup", "enable"]

Header = dict[str, Any]
Frames = list[Any]
Dumps = Callable[..., tuple[Header, Frames]]
Loads = Callable[[Header, Frames], Any]


def _host_identity() -> str:
    """What tells this host's memory apart: memshare's handles name memfds
    through /proc and the couriers' abstract sockets, so the kernel's boot
    and the pid and network namespaces must be the same."""
    with open("/proc/sys/kernel/random/boot_id") as boot:
        parts = [boot.read().strip()]
    parts += [os.readlink(f"/proc/self/ns/{kind}") for kind in ("pid", "net")]
    return " ".join(parts)


HOST = _host_identity()


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


def _shared(x: object, context: dict[str, Any] | None) -> tuple[Header, Frames] | None:
    """`x` as the handles of shared memory, if the peer is on this host and
    `x` holds data worth it; else None."""
    if not _same_host(context):
        return None
    payload, flags = items.encode(x, items.BIG)
    if not flags & items.HANDLES:
        return None  # nothing large: as distributed sends it
    return {"memshare": flags, "memshare-host": HOST}, [payload]


def _receive(header: Header, frames: Frames) -> Any:
    if header.get("memshare-host") != HOST:
        raise ValueError(
            "memshare: this data was sent as shared memory of another host "
            f"({header.get('memshare-host')!r}); set memshare.dask.same-host: never "
            "in the Dask config of hosts that share addresses but not memory"
        )
    return items.decode(frames[0], header["memshare"])


def _wrap_dask(kind: type) -> None:
    """memshare's serializers for `kind` in distributed's "dask" family, over
    the ones registered (which still serve whatever memshare passes on)."""
    theirs_dumps: Dumps = dask_serialize.dispatch(kind)
    theirs_loads: Loads = dask_deserialize.dispatch(kind)
    if getattr(theirs_dumps, "memshare", False):
        return
    with_context = has_keyword(theirs_dumps, "context")  # Arrow's take none

    def dumps(x: Any, context: dict[str, Any] | None = None) -> tuple[Header, Frames]:
        found = _shared(x, context)
        if found is not None:
            return found
        return theirs_dumps(x, context=context) if with_context else theirs_dumps(x)

    def loads(header: Header, frames: Frames) -> Any:
        if "memshare" in header:
            return _receive(header, frames)
        return theirs_loads(header, frames)

    dumps.memshare = True  # type: ignore[attr-defined]
    dask_serialize.register(kind, dumps)
    dask_deserialize.register(kind, loads)


def _wrap_arrow() -> None:
    import pyarrow as pa
    from distributed.protocol import arrow  # noqa: F401 - theirs, before ours

    _wrap_dask(pa.Table)
    _wrap_dask(pa.RecordBatch)


def _wrap_pickle() -> None:
    theirs_dumps: Dumps
    theirs_loads: Loads
    theirs_dumps, theirs_loads, _ = families["pickle"]
    if getattr(theirs_dumps, "memshare", False):
        return

    def dumps(x: Any, context: dict[str, Any] | None = None) -> tuple[Header, Frames]:
        found = _shared(x, context)
        if found is not None:
            return {"serializer": "pickle", **found[0]}, found[1]
        return theirs_dumps(x, context=context)

    def loads(header: Header, frames: Frames) -> Any:
        if "memshare" in header:
            return _receive(header, frames)
        return theirs_loads(header, frames)

    dumps.memshare = True  # type: ignore[attr-defined]
    register_serialization_family("pickle", dumps, loads)


def register() -> None:
    """Take over the serialization of this process (idempotent): enough
    where every process that sends or receives data calls it."""
    _wrap_dask(np.ndarray)
    _wrap_pickle()
    if "pyarrow" in sys.modules:
        _wrap_arrow()
    else:  # when pyarrow is first met, as distributed registers its own
        dask_serialize.register_lazy("pyarrow", _wrap_arrow)
        dask_deserialize.register_lazy("pyarrow", _wrap_arrow)


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
