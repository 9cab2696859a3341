"""memshare: share memory between Python processes.

Memory mappings of the four kinds (private or shared, of a file or of
anonymous memory) with the whole Linux interface to them, as
:class:`Mapping`, a drop-in superset of :class:`mmap.mmap`; POSIX shared
memory as :class:`SharedMemory` and :class:`ShareableList`, drop-in
supersets of :mod:`multiprocessing.shared_memory`; memfd; what is in
/dev/shm; NumPy arrays in shared memory (:func:`zeros`, :func:`array`,
...) that travel to multiprocessing workers as small handles, not copies;
and synchronization that lives next to them (:class:`Lock`, :class:`RLock`,
:class:`Condition`, :class:`Barrier`, :class:`Event`, :class:`Semaphore`, :class:`BoundedSemaphore`,
:class:`AtomicInt`, :class:`AtomicArray`).
"""

from importlib.metadata import version as _version

from . import atomics, conditions, constants, locks, pickling, queues, waits
from ._core import default_huge_page_size, huge_page_sizes
from .array import (
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
from .atomics import ATOMIC_SIZE, AtomicArray, AtomicInt
from .conditions import BARRIER_SIZE, Barrier, Condition, condition_size
from .constants import *
from .faults import MappingDamagedError
from .locks import LOCK_SIZE, Lock, OwnerDiedError, RLock
from .mapping import Mapping, map_anonymous, map_file
from .maps import MapEntry, maps
from .memory_report import MemoryReport, ProcessMemory, memory_report
from .posix_ipc import MessageQueue, NamedSemaphore
from .queues import JoinableQueue, Queue, SimpleQueue
from .recycling import release_unused
from .segments import Segment, clean_segments, segment, segments
from .shareable_list import ShareableList
from .shared_memory import SharedMemory
from .shm import add_seals, get_seals, memfd_create, shm_open, shm_unlink
from .system_info import SystemInfo, info
from .waits import EVENT_SIZE, SEMAPHORE_SIZE, BoundedSemaphore, Event, Semaphore

__version__ = _version("memshare")
pickling.register()
locks.register()
waits.register()
atomics.register()
conditions.register()
queues.register()

__all__ = [
    "ATOMIC_SIZE",
    "BARRIER_SIZE",
    "EVENT_SIZE",
    "LOCK_SIZE",
    "SEMAPHORE_SIZE",
    "AtomicArray",
    "AtomicInt",
    "Backing",
    "Barrier",
    "BoundedSemaphore",
    "Condition",
    "Event",
    "JoinableQueue",
    "Lock",
    "MapEntry",
    "Mapping",
    "MappingDamagedError",
    "MemoryReport",
    "MessageQueue",
    "NamedSemaphore",
    "OwnerDiedError",
    "ProcessMemory",
    "Queue",
    "RLock",
    "Segment",
    "Semaphore",
    "ShareableList",
    "SharedMemory",
    "SimpleQueue",
    "SystemInfo",
    "__version__",
    "add_seals",
    "array",
    "asarray",
    "attach",
    "backing",
    "clean_segments",
    "condition_size",
    "default_huge_page_size",
    "empty",
    "empty_like",
    "full",
    "full_like",
    "get_seals",
    "huge_page_sizes",
    "info",
    "is_shared",
    "map_anonymous",
    "map_file",
    "maps",
    "memfd_create",
    "memory_report",
    "ones",
    "ones_like",
    "populate",
    "release_unused",
    "segment",
    "segments",
    "shm_open",
    "shm_unlink",
    "unlink",
    "zeros",
    "zeros_like",
]
__all__ += constants.__all__
