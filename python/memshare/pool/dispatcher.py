"""The parent's side of a pool: tasks into the shared task queue, results
out of the shared result queue to whoever waits for them, and the tasks of
workers that died failed instead of lost.

Tasks are numbered in the order they are put, which is the order they are
taken (see ``queue/shared_queue.hpp``), so a worker's claim word names the
task it has.  ``pending`` maps the numbers of tasks put and not answered to
where their results go (a *sink*: an AsyncResult, a Future, ...).

Results are taken by a thread that waits for one: the caller of ``get()``
or ``result()`` takes them itself, so a round trip costs no hop between
threads (one costs tens of microseconds, several times the round trip);
a background thread takes them while nobody waits, for callbacks and
``ready()``.  Whoever takes results that another thread waits for wakes it
(``stop_takers``).

Tasks that do not fit the queue at once wait in a backlog that a feeder
thread puts in as room comes, in order; so does the lazy input of
``imap``.  Neither a caller nor a callback ever blocks on a full queue.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any, Final, Protocol

import numpy as np

from .. import _core
from ..arrays.constructors import zeros
from ..queues.classes import Queue
from ..queues.items import decode, encode, take_back
from .errors import TaskTransferError, WorkerLostError
from .tasks import read_trailer
from .worker import DONE, Setup
from .workers import Workers

if TYPE_CHECKING:
    from ..queues.items import Record

__all__: list[str] = []

log = logging.getLogger("memshare.pool")

RUN: Final = "RUN"  # the states, named as multiprocessing.pool names them
CLOSE: Final = "CLOSE"
TERMINATE: Final = "TERMINATE"

_TASK_RING: Final = 4 << 20  # bytes: some 30,000 small tasks wait in it
_RESULT_RING: Final = 4 << 20
_BATCH: Final = 256  # results taken at once
_SLICE: Final = 0.05  # seconds a blocked put waits before it looks again
# The background thread stays out of a waiting caller's way, looking again
# after these many seconds, then twice as many, up to the most.
_ASIDE: Final = 0.001
_ASIDE_MOST: Final = 0.01
_IDLE: Final = 0.1  # seconds it waits for a task when none is pending


class Sink(Protocol):
    """Where results go, from any thread: the outcome of task `index`, or
    of tasks `index` on."""

    def deliver(self, index: int, ok: bool, value: Any) -> None: ...

    def deliver_many(self, index: int, outcomes: list[tuple[bool, Any]]) -> None: ...


# Where a task's result goes: its sink, and its index there.
Target = tuple[Sink, int]
# Tasks: their records, and their targets (None: stop records).
Tasks = tuple[list["Record"], list[Target] | None]


class Dispatcher:
    """The queues, workers and threads of one pool."""

    def __init__(
        self,
        context: BaseContext,
        processes: int,
        initializer: Callable[..., object] | None,
        initargs: tuple[Any, ...],
        limit: int | None,
        executor: bool,
    ) -> None:
        self._tasks = Queue(capacity_bytes=_TASK_RING)
        self._results = Queue(capacity_bytes=_RESULT_RING)
        self._task_ring = self._tasks._core
        self._result_ring = self._results._core
        self._largest: int = self._task_ring.largest
        self._claims = zeros((processes, 2), np.uint64)  # first, last taken
        self._jobs = zeros(1, np.uint64)  # counted for the workers (worker.py)
        self._job_count = self._jobs.data  # a memoryview: the quickest to write
        self._pending: dict[int, tuple[Sink, int]] = {}
        self._stops: set[int] = set()
        self._number = 0  # of the last task put
        self._put_lock = threading.Lock()
        self.state = RUN
        self.failure: BaseException | None = None  # why the pool broke
        self._stopping = False  # the threads end
        # Feeding: the backlog, and the thread that puts it in.
        self._backlog: deque[Iterator[Tasks]] = deque()
        self._feeding = threading.Condition(threading.Lock())
        self._feeder: threading.Thread | None = None
        # Taking results: the callers waiting, and the background thread.
        self._pumps = threading.Condition(threading.Lock())
        self._foreground = 0
        self._background_taking = False
        self._background_idle = False  # nothing was pending: it waits for a task
        setup = Setup(
            self._tasks,
            self._results,
            self._claims,
            self._jobs,
            initializer,
            initargs,
            limit,
            executor,
        )
        self._background: threading.Thread | None = None
        self.workers = Workers(context, setup, processes, self)
        try:
            self._background = self._thread(self._take_in_background, "results")
        except BaseException:  # no thread at interpreter shutdown, say
            self.terminate()
            raise

    # -- tasks ------------------------------------------------------------

    @property
    def largest(self) -> int:
        """The largest record the task queue takes (see items.encode)."""
        return self._largest

    def submit(self, records: list[Record], targets: list[Target] | None) -> None:
        """Puts tasks in, at once if they fit, else behind what waits;
        `targets` None: stop records."""
        self._job_count[0] += 1
        with self._feeding:
            if not self._backlog:
                done = self._put(records, targets, False, None)
                records, targets = _after(records, targets, done)
            if records:
                self._wait_in_backlog(iter([(records, targets)]))
        if self._background_idle:  # its results may be nobody else's
            with self._pumps:
                self._pumps.notify()

    def feed(self, source: Iterator[Tasks]) -> None:
        """Has the feeder put in the tasks `source` yields, when it yields
        them."""
        self._job_count[0] += 1
        with self._feeding:
            self._wait_in_backlog(source)

    def _wait_in_backlog(self, source: Iterator[Tasks]) -> None:
        self._backlog.append(source)
        if self._feeder is None:
            self._feeder = self._thread(self._feed, "tasks")
        self._feeding.notify()

    def _put(
        self,
        records: list[Record],
        targets: list[Target] | None,
        block: bool,
        timeout: float | None,
    ) -> int:
        """Puts what of `records` fits (waiting up to `timeout` with
        `block`): how many went in."""
        with self._put_lock:
            first, count = self._number + 1, len(records)
            numbers = range(first, first + count)
            if targets is None:
                self._stops.update(numbers)
            else:
                self._pending.update(zip(numbers, targets, strict=True))
            done, stopped = self._task_ring.put_many(records, block, timeout)
            for number in numbers[done:]:  # registered, but not put
                self._pending.pop(number, None)
                self._stops.discard(number)
            self._number += done
        if stopped is not None:
            take_back(records[done:])
            raise stopped
        return done

    def _feed(self) -> None:
        while True:
            with self._feeding:
                while not self._backlog and not self._stopping:
                    self._feeding.wait()
                if self._stopping:
                    return
                source = self._backlog[0]
            # Outside the lock: a lazy input runs here.
            records, targets = next(source, ([], None))
            if not records:
                with self._feeding:
                    if self._backlog and self._backlog[0] is source:
                        self._backlog.popleft()
                continue
            while records and not self._stopping:
                done = self._put(records, targets, True, _SLICE)
                records, targets = _after(records, targets, done)
            take_back(records)  # terminated meanwhile

    # -- results ----------------------------------------------------------

    def wait_until(self, done: Callable[[], bool], timeout: float | None) -> bool:
        """Takes results (this thread, no hop) until `done()`: whether it
        came within `timeout` seconds (None: no limit)."""
        if done():
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.waiting():
            while not done():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                if self._take(True, left) and self._foreground > 1:
                    self._result_ring.stop_takers()  # others' results, maybe
        return True

    def waiting(self) -> _Waiting:
        """While entered, this thread takes the results it waits for, and the
        background thread stays out of the way (entered before a call that
        waits submits its tasks, it is not woken for them)."""
        return _Waiting(self)

    def _wait_begins(self) -> None:
        with self._pumps:
            self._foreground += 1
            taking = self._background_taking
        if taking:  # it steps aside: our result is ours to take
            self._result_ring.stop_takers()

    def _wait_ends(self) -> None:
        # The background thread takes over when it next looks: not at once,
        # since a caller that waited often waits again soon.
        with self._pumps:
            self._foreground -= 1

    def wake(self) -> None:
        """Has the callers waiting look again: for what was delivered by a
        thread that does not take results."""
        self._result_ring.stop_takers()

    def _take(self, block: bool, timeout: float | None) -> bool:
        """Takes the results there are (waiting up to `timeout` for one with
        `block`) and delivers them: whether there were any."""
        got = self._result_ring.get_many(_BATCH, block, timeout, True)
        for payload, flags in got:
            self._deliver(payload, flags)
        return bool(got)

    def _deliver(self, payload: Any, flags: int) -> None:
        """Delivers the outcomes a result record holds."""
        first, count = read_trailer(payload)
        outcomes, interrupted = _outcomes(payload, flags, count)
        if first == 0:  # from a worker whose initializer failed
            self._break(
                BrokenProcessPool("a worker's initializer failed"), outcomes[0][1]
            )
            return
        # Delivered in runs, each of one sink's tasks one after another (a
        # map's): a sink takes a run at once.
        pending = self._pending
        sink, start, run = None, 0, []
        for number, outcome in enumerate(outcomes, first):
            entry = pending.pop(number, None)
            if entry is None:  # failed already: its worker was lost
                continue
            if entry[0] is sink and entry[1] == start + len(run):
                run.append(outcome)
                continue
            if sink is not None:
                sink.deliver_many(start, run)
            (sink, start), run = entry, [outcome]
        if sink is not None:
            sink.deliver_many(start, run)
        if interrupted is not None:
            raise interrupted

    def _take_in_background(self) -> None:
        while self._background_turn():
            try:
                # Not spinning: its CPU is the workers' and the callers'.
                got = self._result_ring.get_many(_BATCH, True, None, True, False)
                for payload, flags in got:
                    self._deliver(payload, flags)
            except Exception as error:  # noqa: BLE001 - stray bytes over the queue
                self._break(BrokenProcessPool("the result queue is damaged"), error)
                return
            finally:
                with self._pumps:
                    self._background_taking = False
            if got and self._foreground:
                self._result_ring.stop_takers()  # a waiter's, maybe

    def _background_turn(self) -> bool:
        """Waits until the background thread should take results: nobody
        else does, and some are due.  False once the pool ends."""
        aside = _ASIDE
        with self._pumps:
            while not self._stopping:
                if self._foreground:
                    self._pumps.wait(aside)
                    aside = min(2 * aside, _ASIDE_MOST)
                elif not self._pending:
                    # Woken by submit(); or, if it looked at the flag just
                    # before it was set, after a while.
                    self._background_idle = True
                    self._pumps.wait(_IDLE)
                    self._background_idle = False
                else:
                    self._background_taking = True
                    return True
        return False

    # -- workers ----------------------------------------------------------

    def worker_ended(self, slot: int, process: BaseProcess) -> bool:
        first, last = (int(word) for word in self._claims[slot])
        if first in self._stops:
            self._stops.discard(first)
            return False  # asked to stop
        if last == DONE:
            return False  # its initializer failed: the pool breaks, and says why
        if not first and (process.exitcode or 0) > 0:
            # It failed before taking a task (in its start): so would another.
            why = f"{process.name} exited with code {process.exitcode} before it took a task"
            self._break(BrokenProcessPool(why), None)
            return False
        if first and not last & DONE:
            self._lose(slot, first, last, process)
        return self.state != TERMINATE and self.failure is None

    def _lose(self, slot: int, first: int, last: int, process: BaseProcess) -> None:
        """Fails the tasks `first` to `last` that the worker that ended had
        claimed and not answered: not those whose take never committed (they
        wait for another worker) nor those another worker has."""
        others = self.workers.claims_of_others(slot)
        lost = WorkerLostError(process.pid or 0, process.exitcode, process.name)
        for number in range(first, min(last, self._task_ring.taken) + 1):
            if any(low <= number <= high & ~DONE for low, high in others):
                continue
            entry = self._pending.pop(number, None)
            if entry is not None:
                entry[0].deliver(entry[1], False, lost)
        self._result_ring.stop_takers()  # their waiters take no result

    def worker_not_started(self, error: BaseException, left: int) -> None:
        if left == 0:
            self._break(BrokenProcessPool("no worker could be started"), error)
        else:
            log.warning(
                "a pool worker could not be replaced (%s): %d left", error, left
            )

    def workers_gone(self) -> None:
        # Every result they sent is in the queue: deliver them, and end the
        # threads (a pump still delivering what it took goes on).  Closed,
        # no task is left; terminated or broken, those left failed already.
        with contextlib.suppress(Exception):
            while self._take(False, None):
                pass
        self._stop_threads()

    # -- ending -----------------------------------------------------------

    def close(self, stops: int) -> None:
        """No more tasks: each worker stops once the tasks before are done."""
        if self.state == RUN:
            self.state = CLOSE
            payload, flags = encode(None, self._largest)
            stop = (payload, flags | _core.SharedQueue.alone)  # one per worker
            self.submit([stop] * stops, None)

    def terminate(self) -> None:
        """Stops the workers now, and waits for them; the tasks not done
        fail."""
        with self._feeding:
            if self.state == TERMINATE:
                return
            self.state = TERMINATE
            left, self._backlog = list(self._backlog), deque()
        self.workers.terminate()
        for source in left:
            _drop(source)
        self._fail_pending(_terminated())
        self._stop_threads()
        self.join()

    def join(self, timeout: float | None = None) -> bool:
        """Waits for the workers and threads to end (after close() or
        terminate()): whether they did within `timeout`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self.workers.join(timeout):
            return False
        for thread in (self._background, self._feeder):
            if thread is not None and thread is not threading.current_thread():
                left = None if deadline is None else max(deadline - time.monotonic(), 0)
                thread.join(left)
                if thread.is_alive():
                    return False
        self._drain()
        return True

    def _break(self, why: BrokenProcessPool, cause: BaseException | None) -> None:
        if self.failure is None:
            why.__cause__ = cause
            self.failure = why
            self.workers.end()
        self._fail_pending(self.failure)

    def _fail_pending(self, error: BaseException) -> None:
        while True:
            try:
                _, (sink, index) = self._pending.popitem()
            except KeyError:
                break
            sink.deliver(index, False, error)
        self._result_ring.stop_takers()

    def _stop_threads(self) -> None:
        with self._feeding:
            self._stopping = True
            self._feeding.notify_all()
        with self._pumps:
            self._pumps.notify_all()
        self._result_ring.stop_takers()

    def _drain(self) -> None:
        """Receives what the queues still hold (the handles in it keep their
        memory from reuse until received)."""
        with contextlib.suppress(Exception):
            while got := self._task_ring.get_many(_BATCH, False, None, False):
                take_back(got)
            while got := self._result_ring.get_many(_BATCH, False, None, False):
                for payload, flags in got:
                    decode(payload, flags)

    @staticmethod
    def _thread(target: Callable[[], None], role: str) -> threading.Thread:
        thread = threading.Thread(
            target=target, name=f"memshare pool {role}", daemon=True
        )
        thread.start()
        return thread


class _Waiting:
    """Dispatcher.waiting(): a class, as a generator's context manager
    costs a round trip's worth of microseconds."""

    __slots__ = ("_dispatcher",)

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher

    def __enter__(self) -> None:
        self._dispatcher._wait_begins()

    def __exit__(self, *_: object) -> None:
        self._dispatcher._wait_ends()


def _outcomes(
    payload: Any, flags: int, count: int
) -> tuple[list[tuple[bool, Any]], KeyboardInterrupt | None]:
    """The (ok, value) pairs of the `count` tasks a result record answers;
    if it cannot be read, each task fails with the reason (and Ctrl-C, which
    interrupted it, is given back to raise once they have)."""
    try:
        outcomes = decode(payload, flags)
        if type(outcomes) is tuple and len(outcomes) == count:
            return outcomes, None  # type: ignore[return-value]
        error: BaseException = ValueError(f"a result record holds {outcomes!r:.60}")
    except BaseException as failed:  # noqa: BLE001 - each task fails with it
        error = failed
    unread = TaskTransferError(f"the task's result could not be received: {error!r}")
    unread.__cause__ = error
    interrupted = error if isinstance(error, KeyboardInterrupt) else None
    return [(False, unread)] * count, interrupted


def _terminated() -> BaseException:
    return BrokenProcessPool("the pool was terminated before the task was done")


def _after(records: list[Record], targets: list[Target] | None, done: int) -> Tasks:
    """The tasks left once the first `done` went in."""
    return records[done:], None if targets is None else targets[done:]


def _drop(source: Iterator[Tasks]) -> None:
    """Gives up a source never put: its records' handles received here; a
    lazy input is closed, not run on."""
    close = getattr(source, "close", None)
    if close is not None:
        close()
        return
    for records, _ in source:
        take_back(records)
