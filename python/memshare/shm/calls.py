"""POSIX shared memory objects and memfd, as the Linux calls make them.

Names follow POSIX: a leading "/" is optional (memshare adds it for the call),
no other "/", no NUL, at most 255 bytes (251 for a named semaphore), and
UTF-8, as the names memshare gives back are ``str``.  A bad name raises
``ValueError`` before any call is made.
"""

from __future__ import annotations

import os

from .. import _core

__all__ = [
    "add_seals",
    "get_seals",
    "memfd_create",
    "shm_open",
    "shm_unlink",
]

Name = str | bytes


def _encode(name: Name) -> bytes:
    if not isinstance(name, (str, bytes)):
        raise TypeError(
            f"a shared memory name is str or bytes, not {type(name).__name__}"
        )
    encoded = os.fsencode(name)
    try:
        encoded.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"invalid shared memory name {name!r}: it is not UTF-8 ({error.reason} "
            f"at byte {error.start})"
        ) from None
    return encoded


def shm_open(name: Name, flags: int, mode: int = 0o600) -> int:
    """Open or create the POSIX shared memory object ``name`` (shm_open).

    ``flags`` takes ``os.O_RDONLY`` or ``os.O_RDWR``, with ``os.O_CREAT``,
    ``os.O_EXCL`` and ``os.O_TRUNC``.  Returns a close-on-exec descriptor that
    the caller owns (close it with :func:`os.close`).  A new object is empty:
    size it with :func:`os.ftruncate`, or use :class:`memshare.SharedMemory`,
    which sizes, reserves, maps and tracks it.
    """
    return _core.shm_open(_encode(name), flags, mode)


def shm_unlink(name: Name) -> None:
    """Remove the name of a shared memory object (shm_unlink).

    Processes that have it open or mapped keep the memory until they let go.
    """
    _core.shm_unlink(_encode(name))


def memfd_create(name: Name, flags: int = _core.MFD_CLOEXEC) -> int:
    """Make anonymous memory with a descriptor (memfd_create).

    ``name`` only labels it in ``/proc`` and need not be unique.  ``flags``
    combines ``MFD_CLOEXEC``, ``MFD_ALLOW_SEALING``, ``MFD_HUGETLB``,
    ``MFD_NOEXEC_SEAL`` and ``MFD_EXEC``.  Returns a descriptor the caller
    owns; the memory goes when the last descriptor and mapping of it go.
    """
    return _core.memfd_create(_encode(name), flags)


def add_seals(fd: int, seals: int) -> None:
    """Seal a memfd (fcntl F_ADD_SEALS): ``F_SEAL_SHRINK``, ``F_SEAL_GROW``,
    ``F_SEAL_WRITE``, ``F_SEAL_FUTURE_WRITE``, ``F_SEAL_EXEC``, ``F_SEAL_SEAL``.

    Seals cannot be removed.  ``F_SEAL_SHRINK`` makes the memory safe to map
    in processes that do not trust each other: nobody can truncate it under
    them.
    """
    _core.add_seals(fd, seals)


def get_seals(fd: int) -> int:
    """The seals of a memfd (fcntl F_GET_SEALS)."""
    return _core.get_seals(fd)
