"""Queues in shared memory with :mod:`multiprocessing`'s interface
(:mod:`.classes`), and how their items travel (:mod:`.items`)."""

from . import classes
from .classes import JoinableQueue, Queue, SimpleQueue

__all__ = ["JoinableQueue", "Queue", "SimpleQueue"]

classes.register()  # a queue sent through multiprocessing travels as a handle
