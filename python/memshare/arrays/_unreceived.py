"""What a pool worker's task gets in place of a shared array it could not
receive.

``multiprocessing.Pool``'s worker takes any OSError raised while it
unpickles a task for a broken pipe and exits; any other error ends it as
well.  Either way the task is lost and ``apply()`` waits for ever
(``ProcessPoolExecutor``'s worker dies, and the whole pool breaks).  So when
a shared array in a task cannot be received in such a worker (out of
descriptors, say, or a damaged handle), the task gets an
:class:`UnreceivedArray` instead, which raises the error at its first use:
the error becomes the task's own, and reaches the caller of ``apply()``,
``map()`` or ``Future.result()``.  The worker and the pool go on.
"""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any, NoReturn

import numpy as np

__all__ = ["UnreceivedArray", "in_task_loop"]

# The loops whose get() of a task loses the task if it raises, and the
# queues' get() they call.
_TASK_LOOPS = frozenset(
    {
        ("multiprocessing.pool", "worker"),
        ("concurrent.futures.process", "_process_worker"),
    }
)
_TASK_GET = ("multiprocessing.queues", "get")
_LOOK_UP = 8  # the loop is a few calls up: get(), the rebuild, this


def in_task_loop() -> bool:
    """Whether the caller runs inside a pool worker's get() of its next task
    (not inside the task itself)."""
    callee = None
    frame: FrameType | None = sys._getframe(1)
    for _ in range(_LOOK_UP):
        if frame is None:
            return False
        if _where(frame) in _TASK_LOOPS:
            return callee is not None and _where(callee) == _TASK_GET
        callee, frame = frame, frame.f_back
    return False


def _where(frame: FrameType) -> tuple[object, str]:
    return frame.f_globals.get("__name__"), frame.f_code.co_name


class UnreceivedArray:
    """Stands for a shared array that could not be received; raises why at
    any use (attributes, operators, NumPy conversion, ``isinstance``,
    pickling), so that no task computes on without it."""

    __slots__ = ("_error",)

    def __init__(self, error: BaseException) -> None:
        object.__setattr__(self, "_error", error)

    def __getattribute__(self, name: str) -> Any:
        _raise_for(self)

    def __repr__(self) -> str:
        error = object.__getattribute__(self, "_error")
        return f"<memshare.UnreceivedArray: {type(error).__name__}: {error}>"


def _raise_for(stand_in: UnreceivedArray) -> NoReturn:
    error: BaseException = object.__getattribute__(stand_in, "_error")
    raise error.with_traceback(None)


def _raising(name: str) -> Any:
    def method(self: UnreceivedArray, *_: object) -> NoReturn:
        _raise_for(self)

    method.__name__ = name
    return method


# Special methods are looked up on the type, past __getattribute__: each
# one an array has raises too, and hashing.
_OWN = {"__class__", "__new__", "__init__", "__init_subclass__", "__subclasshook__"}
_OWN |= {"__class_getitem__", "__getattribute__", "__repr__"}
_SPECIAL = {
    name
    for name in dir(np.ndarray)
    if name.startswith("__") and callable(getattr(np.ndarray, name))
}
for _name in sorted(_SPECIAL - _OWN | {"__hash__"}):
    setattr(UnreceivedArray, _name, _raising(_name))
