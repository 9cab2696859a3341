"""POSIX named semaphores and message queues, which complete the POSIX IPC
set beside shared memory: the kernel keeps each under a name that any
process can open.

:class:`NamedSemaphore` (sem_open) has :class:`threading.Semaphore`'s
``acquire()`` and ``release()``; :class:`MessageQueue` (mq_open) sends and
receives byte messages with priorities.  Both are made as
:class:`~memshare.SharedMemory` is (``name=None, create=False``), stay until
``unlink()``, travel to other processes by name (with any pickler), wait
without the GIL and stay interruptible by Ctrl-C.
"""

from __future__ import annotations

import operator
import queue
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .. import _core
from ..sync._placement import Acquirable, acquire_timeout, release_count, seconds
from .calls import Name, _encode

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["MessageQueue", "NamedSemaphore"]

SEM_VALUE_MAX = 0x7FFFFFFF
MQ_PRIO_MAX = 32768  # sysconf(_SC_MQ_PRIO_MAX) on Linux

T = TypeVar("T")


def _open(name: Name | None, create: bool, opener: Callable[[bytes], T]) -> T:
    """`opener(name)`, or with a fresh random name if `name` is None."""
    if name is not None:
        return opener(_encode(name))
    if not create:
        raise ValueError("'name' can only be None if create=True")
    while True:
        try:
            return opener(f"ms_{secrets.token_hex(6)}".encode())
        except FileExistsError:
            continue


class _Named:
    """What a named semaphore and a message queue share: the name, closing,
    unlinking, and travelling by name."""

    _impl: Any
    _unlink: Callable[[bytes], None]

    @property
    def name(self) -> str:
        return self._impl.name  # type: ignore[no-any-return]

    @property
    def closed(self) -> bool:
        return self._impl.closed  # type: ignore[no-any-return]

    def close(self) -> None:
        """Let go of it in this process; it stays for others.  Refused
        (BufferError) while another thread waits on it."""
        self._impl.close()

    def unlink(self) -> None:
        """Remove the name; whoever has it open keeps it."""
        type(self)._unlink(_encode(self.name))

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.name,)


class NamedSemaphore(_Named, Acquirable):
    """A POSIX named semaphore (sem_open): :class:`threading.Semaphore`'s
    interface, under a name.

    ``NamedSemaphore(name=None, create=False, value=1, *, mode=0o600)``
    makes a new one with `value` (``FileExistsError`` if the name is taken;
    a random name if None) or opens an existing one
    (``FileNotFoundError`` if there is none).  It stays, in /dev/shm as
    ``sem.NAME``, until :meth:`unlink`.
    """

    __module__ = "memshare"
    _unlink = staticmethod(_core.sem_unlink)
    _impl: _core.NamedSemaphoreCore

    def __init__(
        self,
        name: Name | None = None,
        create: bool = False,
        value: int = 1,
        *,
        mode: int = 0o600,
    ) -> None:
        value = operator.index(value)
        if not 0 <= value <= SEM_VALUE_MAX:
            raise ValueError(
                f"a semaphore's value is from 0 to {SEM_VALUE_MAX}, not {value}"
            )
        self._impl = _open(
            name, create, lambda n: _core.NamedSemaphoreCore(n, create, value, mode)
        )

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take one: True once taken, False if none came in time."""
        return self._impl.acquire(bool(blocking), acquire_timeout(blocking, timeout))

    def release(self, n: int = 1) -> None:
        """Give back `n`."""
        self._impl.release(release_count(n))

    def get_value(self) -> int:
        return self._impl.value()

    def __repr__(self) -> str:
        if self.closed:
            return f"<memshare.NamedSemaphore {self.name!r} closed>"
        return f"<memshare.NamedSemaphore {self.name!r} value={self.get_value()}>"


class MessageQueue(_Named):
    """A POSIX message queue (mq_open): byte messages with priorities.

    ``MessageQueue(name=None, create=False, max_messages=10,
    max_message_size=8192, *, mode=0o600)`` makes a new queue (an
    unprivileged process gets at most /proc/sys/fs/mqueue/msg_max messages
    of at most msgsize_max bytes) or opens an existing one.  ``receive()``
    takes the oldest message of the highest priority.  Like the queues of
    :mod:`queue`, a send that finds the queue full raises ``queue.Full``
    and a receive that finds it empty ``queue.Empty`` once they stop
    waiting.  The queue stays until :meth:`unlink`.
    """

    __module__ = "memshare"
    _unlink = staticmethod(_core.mq_unlink)
    _impl: _core.MessageQueueCore

    def __init__(
        self,
        name: Name | None = None,
        create: bool = False,
        max_messages: int = 10,
        max_message_size: int = 8192,
        *,
        mode: int = 0o600,
    ) -> None:
        messages, size = operator.index(max_messages), operator.index(max_message_size)
        if create and (messages < 1 or size < 1):
            raise ValueError("max_messages and max_message_size must be positive")
        self._impl = _open(
            name,
            create,
            lambda n: _core.MessageQueueCore(n, create, messages, size, mode),
        )

    @property
    def max_messages(self) -> int:
        return self._impl.sizes()[0]

    @property
    def max_message_size(self) -> int:
        return self._impl.sizes()[1]

    def qsize(self) -> int:
        """How many messages wait in the queue now."""
        return self._impl.waiting()

    def send(
        self,
        message: bytes | bytearray | memoryview,
        priority: int = 0,
        block: bool = True,
        timeout: float | None = None,
    ) -> None:
        """Send `message` with `priority` (0 to 32767, higher first);
        ``queue.Full`` if the queue stayed full."""
        priority = operator.index(priority)
        if not 0 <= priority < MQ_PRIO_MAX:
            raise ValueError(f"priority is from 0 to {MQ_PRIO_MAX - 1}, not {priority}")
        size = memoryview(message).nbytes
        if size > self.max_message_size:
            raise ValueError(
                f"a message of {size} bytes is longer than this queue's "
                f"max_message_size, {self.max_message_size}"
            )
        if not self._impl.send(message, priority, bool(block), seconds(timeout)):
            raise queue.Full

    def receive(
        self, block: bool = True, timeout: float | None = None
    ) -> tuple[bytes, int]:
        """The oldest message of the highest priority, and its priority;
        ``queue.Empty`` if none came."""
        got = self._impl.receive(bool(block), seconds(timeout))
        if got is None:
            raise queue.Empty
        return got

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return f"<memshare.MessageQueue {self.name!r} closed>"
        return (
            f"<memshare.MessageQueue {self.name!r} {self.qsize()}/{self.max_messages}>"
        )
