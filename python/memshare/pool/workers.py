"""A pool's worker processes: started, watched, replaced.

One thread waits on the processes' sentinels (and on a pipe that wakes it
when the set changes); when a worker ends, the pool is told, and says
whether to start another in its slot.
"""

from __future__ import annotations

import contextlib
import os
import threading
from multiprocessing.connection import wait
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any, Protocol

from .worker import Setup, serve

__all__: list[str] = []


class Owner(Protocol):
    """What the workers tell the pool."""

    def worker_ended(self, slot: int, process: BaseProcess) -> bool:
        """A worker ended (the process is joined): whether to start another
        in its slot."""

    def worker_not_started(self, error: BaseException, left: int) -> None:
        """A replacement could not be started; `left` workers run."""

    def workers_gone(self) -> None:
        """The last worker ended, and none replaces it."""


class Workers:
    """The worker processes of one pool, a slot each."""

    def __init__(
        self, context: BaseContext, setup: Setup, count: int, owner: Owner
    ) -> None:
        self._context: Any = context  # typeshed's BaseContext has no Process
        self._setup = setup
        self._owner = owner
        self._processes: dict[int, BaseProcess] = {}
        self._lock = threading.Lock()
        self._ending = False  # no more replacements
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)
        self._watcher = threading.Thread(
            target=self._watch, name="memshare pool workers", daemon=True
        )
        try:
            for slot in range(count):
                self._start(slot)
            self._watcher.start()
        except BaseException:  # out of processes, or of threads
            self.terminate()
            for process in self._processes.values():
                process.join()
            self._close_pipe()
            raise

    @property
    def processes(self) -> list[BaseProcess]:
        with self._lock:
            return list(self._processes.values())

    def claims_of_others(self, slot: int) -> list[tuple[int, int]]:
        """The claim words (first, last) of the live workers but the one in
        `slot`."""
        with self._lock:
            slots = [other for other in self._processes if other != slot]
        claims = self._setup.claims
        return [(int(claims[other, 0]), int(claims[other, 1])) for other in slots]

    def end(self) -> None:
        """No worker is replaced from now on."""
        with self._lock:
            self._ending = True
        self._wake()

    def terminate(self) -> None:
        """Stops every worker now (SIGTERM)."""
        self.end()
        for process in self.processes:
            with contextlib.suppress(OSError):  # gone already
                process.terminate()

    def join(self, timeout: float | None = None) -> bool:
        """Waits for the workers and the watcher to end (after end()):
        whether they did within `timeout` (never, called by the watcher:
        from a callback, say)."""
        if self._watcher is threading.current_thread():
            return False
        if self._watcher.ident is None:
            return True  # never started: the processes were joined
        self._watcher.join(timeout)
        if self._watcher.is_alive():
            return False
        self._close_pipe()
        return True

    def _start(self, slot: int) -> None:
        self._setup.claims[slot] = 0  # both words
        process: Any = self._context.Process(
            target=serve, args=(self._setup, slot), daemon=True
        )
        process.name = process.name.replace("Process", "PoolWorker")
        process.start()
        self._processes[slot] = process

    def _wake(self) -> None:
        with self._lock, contextlib.suppress(BlockingIOError):  # full: it wakes
            if self._wake_write >= 0:
                os.write(self._wake_write, b"!")

    def _watch(self) -> None:
        while True:
            with self._lock:
                if not self._processes:
                    break
                slots = {p.sentinel: slot for slot, p in self._processes.items()}
            ready = wait([*slots, self._wake_read])
            if self._wake_read in ready:
                os.read(self._wake_read, 4096)
            for sentinel in ready:
                if sentinel in slots:
                    self._ended(slots[sentinel])
        self._owner.workers_gone()

    def _ended(self, slot: int) -> None:
        process = self._processes[slot]
        process.join()
        again = self._owner.worker_ended(slot, process)
        with self._lock:
            del self._processes[slot]
            if not again or self._ending:
                return
            try:
                self._start(slot)
            except Exception as error:  # noqa: BLE001 - out of processes, say
                failed, left = error, len(self._processes)
            else:
                return
        self._owner.worker_not_started(failed, left)

    def _close_pipe(self) -> None:
        with self._lock:
            if self._wake_read < 0:
                return
            for fd in (self._wake_read, self._wake_write):
                os.close(fd)
            self._wake_read = self._wake_write = -1
