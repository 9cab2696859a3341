"""Synchronization in shared memory, next to the data it guards: locks,
conditions and barriers, events and semaphores, atomics, and where each
primitive is placed."""

from . import atomics, conditions, locks, waits
from .atomics import ATOMIC_SIZE, AtomicArray, AtomicInt
from .conditions import BARRIER_SIZE, Barrier, Condition, condition_size
from .locks import LOCK_SIZE, Lock, OwnerDiedError, RLock
from .waits import EVENT_SIZE, SEMAPHORE_SIZE, BoundedSemaphore, Event, Semaphore

__all__ = [
    "ATOMIC_SIZE",
    "BARRIER_SIZE",
    "EVENT_SIZE",
    "LOCK_SIZE",
    "SEMAPHORE_SIZE",
    "AtomicArray",
    "AtomicInt",
    "Barrier",
    "BoundedSemaphore",
    "Condition",
    "Event",
    "Lock",
    "OwnerDiedError",
    "RLock",
    "Semaphore",
    "condition_size",
]

# A primitive sent through multiprocessing travels as a handle to its cell.
for _kind in (locks, waits, atomics, conditions):
    _kind.register()
del _kind
