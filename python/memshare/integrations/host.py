"""Which host's memory a handle names.

memshare's handles name memory through /proc (a memfd's descriptor in the
sender) and through its couriers' abstract sockets, so they mean the same
memory only where the kernel's boot and the pid and network namespaces are
the sender's.  Engines that may carry a handle to another machine (Dask,
Ray) send this identity beside it, and the receiver refuses a handle of
another host instead of opening whatever that pid's descriptor is here.
"""

from __future__ import annotations

import os

__all__ = ["HOST", "refuse_other_host"]


def _host_identity() -> str:
    with open("/proc/sys/kernel/random/boot_id") as boot:
        parts = [boot.read().strip()]
    parts += [os.readlink(f"/proc/self/ns/{kind}") for kind in ("pid", "net")]
    return " ".join(parts)


HOST = _host_identity()


def refuse_other_host(host: object, advice: str) -> None:
    """ValueError, with `advice`, unless `host` is this host's identity."""
    if host != HOST:
        raise ValueError(
            f"memshare: this data was sent as shared memory of another host "
            f"({host!r}), which is not here; {advice}"
        )
