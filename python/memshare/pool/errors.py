"""What a pool reports when a worker process goes away under a task."""

from __future__ import annotations

import signal
from concurrent.futures.process import BrokenProcessPool

__all__ = ["TaskTransferError", "WorkerLostError"]


class WorkerLostError(BrokenProcessPool):
    """The worker process running a task ended before the task did (killed
    by a signal, say): that task failed (with the tiny tasks the worker had
    taken with it, if any), and no other.

    A :class:`concurrent.futures.process.BrokenProcessPool`, as the standard
    library's executor reports a lost worker, and so a ``RuntimeError``;
    unlike there, the pool starts a replacement and goes on.
    """

    __module__ = "memshare"

    def __init__(self, pid: int, exitcode: int | None, name: str = "") -> None:
        self.pid = pid
        self.exitcode = exitcode
        self.worker = name
        super().__init__(f"{name or 'a worker'} (pid {pid}) {ending(exitcode)}")

    def __reduce__(self) -> tuple[type[WorkerLostError], tuple[int, int | None, str]]:
        return type(self), (self.pid, self.exitcode, self.worker)


class TaskTransferError(BrokenProcessPool):
    """A task's arguments could not be received by its worker, or its result
    by the caller (unpickling them raised): that task failed, and only
    that one; the message names the original error.

    A ``BrokenProcessPool``, as the standard library's executor reports
    such a task (and then fails every other); a ``RuntimeError``.
    """

    __module__ = "memshare"


def ending(exitcode: int | None) -> str:
    """How a process ended, in words: "was killed by SIGKILL", ..."""
    if exitcode is None:
        return "ended, how is not known"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"was killed by {name} before it finished the task"
    return f"exited with code {exitcode} before it finished the task"
