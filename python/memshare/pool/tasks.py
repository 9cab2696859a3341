"""What a pool's task and result records hold, for the parent that makes
them and the worker that runs them.

A task is ``(kind, function, data)``: call the function with ``data``
(``CALL``: ``(args, kwds)``; ``ONE``: the one argument; ``STAR``: a tuple of
arguments), or over each item of a chunk (``MAP``: one argument each;
``STARMAP``: an argument tuple each).  ``None`` tells a worker to stop.  It is pickled by the queues' pickler (shared
arrays as handles, other arrays' data out of band; see ``queues/items``).

A plain function (one pickled by its name) goes as the bytes of its pickle,
made once per function: the worker unpickles those once and keeps the
function, so that a task of a map costs only its arguments.  Any other
callable goes inside the task, pickled with it each time (it may hold
state that changes, or handles that must be received once per send).

A worker takes tiny tasks several at a time (see ``worker.py``), and
answers each batch with one result record: the pickle of a tuple of
``(ok, value)`` pairs, one per task in order (a value is the exception of
a task that failed), then a trailer of 8 bytes that gives the first task's
number and how many there are.  The trailer stays readable when the pickle
cannot be unpickled, so that those tasks fail with the reason instead of
being lost.
"""

from __future__ import annotations

import pickle
import types
from collections.abc import Callable
from typing import Any, Final

__all__: list[str] = []

CALL: Final = 0
ONE: Final = 1
STAR: Final = 2
MAP: Final = 3
STARMAP: Final = 4

Task = tuple[int, Any, Any]

_TRAILER: Final = 8
_COUNT_SHIFT: Final = 56  # a trailer: count << 56 | first task's number
_KEPT: Final = 256  # functions kept by name, in the parent and in each worker


def trailer(first: int, count: int) -> bytes:
    return (count << _COUNT_SHIFT | first).to_bytes(_TRAILER, "little")


def read_trailer(payload: Any) -> tuple[int, int]:
    """A result record's first task number, and how many tasks it answers.
    The record is unpickled as it is: the pickle ends before the
    trailer."""
    word = int.from_bytes(payload[-_TRAILER:], "little")
    return word & ((1 << _COUNT_SHIFT) - 1), word >> _COUNT_SHIFT


class FunctionNames:
    """The parent's side: the pickles of plain functions, made once."""

    def __init__(self) -> None:
        self._pickles: dict[Callable[..., Any], bytes] = {}

    def name(self, func: Callable[..., Any]) -> Any:
        """What a task carries for `func`: its pickle if it is a plain
        function, else `func` itself."""
        if not _plain(func):
            return func
        found = self._pickles.get(func)
        if found is None:
            if len(self._pickles) >= _KEPT:
                self._pickles.clear()
            # Raises as multiprocessing would for a function it cannot find
            # by name (a lambda, say).
            found = self._pickles[func] = pickle.dumps(func, pickle.HIGHEST_PROTOCOL)
        return found


def _plain(func: object) -> bool:
    # Pickled by module and name, and holding nothing that could change: a
    # Python function (defaults are looked up again in the worker's copy of
    # its module), or a built-in function of a module.  A bound method
    # pickles its instance.
    kind = type(func)
    if kind is types.FunctionType:
        return True
    return kind is types.BuiltinFunctionType and isinstance(
        getattr(func, "__self__", None), types.ModuleType
    )


class Functions:
    """The worker's side: functions unpickled from their names, kept."""

    def __init__(self) -> None:
        self._known: dict[bytes, Callable[..., Any]] = {}

    def find(self, named: Any) -> Callable[..., Any]:
        if type(named) is not bytes:
            return named  # type: ignore[no-any-return]
        found = self._known.get(named)
        if found is None:
            if len(self._known) >= _KEPT:
                self._known.clear()
            found = self._known[named] = pickle.loads(named)
        return found

    def run(self, task: Task) -> Any:
        kind, named, data = task
        func = self.find(named)
        if kind == ONE:
            return func(data)
        if kind == CALL:
            args, kwds = data
            return func(*args, **kwds)
        if kind == STAR:
            return func(*data)
        if kind == MAP:
            return [func(item) for item in data]
        return [func(*item) for item in data]
