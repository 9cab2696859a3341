"""POSIX shared memory: the calls (shm_open, memfd, seals), ``SharedMemory``
and ``ShareableList`` as :mod:`multiprocessing.shared_memory` has them, what
is in /dev/shm, and the rest of POSIX IPC (named semaphores, message
queues)."""

from .calls import add_seals, get_seals, memfd_create, shm_open, shm_unlink
from .posix_ipc import MessageQueue, NamedSemaphore
from .segments import Segment, clean_segments, segment, segments
from .shareable_list import ShareableList
from .shared_memory import SharedMemory

__all__ = [
    "MessageQueue",
    "NamedSemaphore",
    "Segment",
    "ShareableList",
    "SharedMemory",
    "add_seals",
    "clean_segments",
    "get_seals",
    "memfd_create",
    "segment",
    "segments",
    "shm_open",
    "shm_unlink",
]
