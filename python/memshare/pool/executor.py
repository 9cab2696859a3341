"""``ms.ProcessPoolExecutor``: :mod:`concurrent.futures`' process pool over
queues in shared memory."""

from __future__ import annotations

import atexit
import itertools
import multiprocessing
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from multiprocessing.util import Finalize
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ..queues.items import encode
from .dispatcher import Dispatcher, Target
from .pool import default_processes
from .tasks import CALL, STAR, STARMAP, FunctionNames

if TYPE_CHECKING:
    from ..queues.items import Record

__all__ = ["ProcessPoolExecutor"]

T = TypeVar("T")

# Tasks sent to the workers at once, per worker: twice as many as they
# run, so that none waits for the next; the others wait as pending futures,
# which cancel() can still stop (the standard library sends one more task
# than it has workers).  Tiny tasks go many at a time: a few in flight
# would leave the workers waiting a round trip for each, and cancelling
# those already sent would spare microseconds.  Tasks count as tiny while
# answers come, on average, less than _TINY apart per worker.
_SENT_PER_WORKER = 2
_TINY_SENT_PER_WORKER = 64
_TINY = 100e-6  # seconds
_WEIGHT = 1 / 8  # of the newest gap, in the average
_LONGEST = 10 * _TINY  # a gap counts at most this (the pool may have been idle)

_live: weakref.WeakSet[ProcessPoolExecutor] = weakref.WeakSet()
_exiting = False


class ProcessPoolExecutor(Executor):
    """:class:`concurrent.futures.ProcessPoolExecutor`'s interface
    (``submit``, ``map`` with ``chunksize`` and ``timeout``,
    ``shutdown(wait, cancel_futures)``, standard
    :class:`concurrent.futures.Future` objects) over queues in shared
    memory: a round trip costs microseconds instead of hundreds.

    Unlike the standard library's, a worker that dies during a task fails
    that task alone with :class:`WorkerLostError` (a ``BrokenProcessPool``
    naming the worker and its signal), and the other tasks go on: the pool
    starts another worker.  A worker whose initializer raises breaks the
    pool, as there (``BrokenProcessPool``, the initializer's exception as
    its cause).
    """

    __module__ = "memshare"

    def __init__(
        self,
        max_workers: int | None = None,
        mp_context: BaseContext | None = None,
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
        *,
        max_tasks_per_child: int | None = None,
    ) -> None:
        self._dispatcher: Dispatcher | None = None
        if max_workers is None:
            max_workers = default_processes()
        elif max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        if mp_context is None:
            mp_context = multiprocessing.get_context(
                "spawn" if max_tasks_per_child is not None else None
            )
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        if max_tasks_per_child is not None:
            if not isinstance(cast(object, max_tasks_per_child), int):
                raise TypeError("max_tasks_per_child must be an integer")
            if max_tasks_per_child <= 0:
                raise ValueError("max_tasks_per_child must be >= 1")
            if mp_context.get_start_method(allow_none=False) == "fork":
                # Replacements would be forked from a thread of the pool.
                raise ValueError(
                    "max_tasks_per_child is incompatible with the 'fork' "
                    "multiprocessing start method; supply a different mp_context."
                )
        self._max_workers = max_workers
        self._mp_context = mp_context
        self._names = FunctionNames()
        self._lock = threading.Lock()
        self._waiting: deque[tuple[_Future[Any], tuple[int, Any, Any]]] = deque()
        self._sent = 0  # tasks in the shared queue or in a worker
        self._answered_at = time.perf_counter()
        self._gap = 2 * _TINY  # the average time between answers, per worker
        self._shutdown = False
        self._dispatcher = Dispatcher(
            mp_context,
            max_workers,
            initializer,
            tuple(initargs),
            max_tasks_per_child,
            executor=True,
        )
        # Collected, the executor lets its workers finish and go.
        Finalize(self, self._dispatcher.close, (max_workers,))
        _live.add(self)

    # -- submitting -------------------------------------------------------

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Schedules ``fn(*args, **kwargs)``: its Future."""
        if kwargs:
            return self._submit(CALL, fn, (args, kwargs))
        return self._submit(STAR, fn, args)  # plain arguments pickle quicker alone

    def map(
        self,
        fn: Callable[..., T],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int = 1,
    ) -> Iterator[T]:
        """``map(fn, *iterables)`` in the workers, `chunksize` calls a task;
        the results in order, each within `timeout` seconds of this call
        (``TimeoutError``).  Leaving the iterator early cancels the rest."""
        if chunksize < 1:
            raise ValueError("chunksize must be >= 1.")
        end = None if timeout is None else time.monotonic() + timeout
        futures = [
            self._submit(STARMAP, fn, chunk)
            for chunk in _chunks(zip(*iterables, strict=False), chunksize)
        ]
        return _flattened(_in_order(futures, end))

    def _submit(self, kind: int, fn: Callable[..., Any], data: Any) -> _Future[Any]:
        dispatcher = self._dispatcher
        assert dispatcher is not None
        with self._lock:
            if dispatcher.failure is not None:
                raise BrokenProcessPool(str(dispatcher.failure)) from dispatcher.failure
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            if _exiting:
                raise RuntimeError(
                    "cannot schedule new futures after interpreter shutdown"
                )
            future: _Future[Any] = _Future(self)
            task = (kind, fn, data)
            if self._waiting or not self._room():
                self._waiting.append((future, task))
                return future
            future.set_running_or_notify_cancel()  # sent at once
            self._sent += 1
        self._send([(future, task)])
        return future

    def _send_more(self) -> None:
        """Moves waiting futures into the shared queue, up to the window;
        closes it behind the last once shut down."""
        sent: list[tuple[_Future[Any], tuple[int, Any, Any]]] = []
        with self._lock:
            while self._waiting and self._room():
                future, task = self._waiting.popleft()
                if future.set_running_or_notify_cancel():  # else cancelled
                    sent.append((future, task))
                    self._sent += 1
            last = self._shutdown and not self._waiting
        self._send(sent)
        if last:
            assert self._dispatcher is not None
            self._dispatcher.close(self._max_workers)

    def _send(self, sent: list[tuple[_Future[Any], tuple[int, Any, Any]]]) -> None:
        """Puts the tasks of running futures into the shared queue; one that
        cannot be pickled fails its future."""
        dispatcher = self._dispatcher
        assert dispatcher is not None
        records: list[Record] = []
        targets: list[Target] = []
        for future, (kind, fn, data) in sent:
            try:
                task = (kind, self._names.name(fn), data)
                records.append(encode(task, dispatcher.largest))
            except Exception as error:  # noqa: BLE001 - the future's own
                future.deliver(0, False, error)
            else:
                targets.append((future, 0))
        if records:
            dispatcher.submit(records, targets)

    def _room(self) -> bool:
        """Whether another task may be sent now (under the lock).  The wide
        window of tiny tasks holds only while their answers keep coming:
        the next tasks, after a pause, may be slow."""
        recent = time.perf_counter() - self._answered_at <= _LONGEST
        tiny = recent and self._gap < _TINY
        per_worker = _TINY_SENT_PER_WORKER if tiny else _SENT_PER_WORKER
        return self._sent < self._max_workers * per_worker

    def _answered(self) -> None:
        now = time.perf_counter()
        with self._lock:
            self._sent -= 1
            gap = min((now - self._answered_at) * self._max_workers, _LONGEST)
            self._gap += (gap - self._gap) * _WEIGHT
            self._answered_at = now
        if self._waiting:
            self._send_more()

    # -- the end ----------------------------------------------------------

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No more tasks; with `cancel_futures`, the futures not started are
        cancelled; with `wait`, returns once every task is done and the
        workers have exited."""
        dispatcher = self._dispatcher
        if dispatcher is None:
            return
        with self._lock:
            self._shutdown = True
            cancelled = list(self._waiting) if cancel_futures else []
            if cancel_futures:
                self._waiting.clear()
        for future, _ in cancelled:
            future.cancel()
        self._send_more()
        if wait:
            dispatcher.join()


class _Future(Future[T]):
    """A Future whose ``result()`` and ``exception()`` take the pool's
    results in the waiting thread (see ``dispatcher.py``)."""

    def __init__(self, executor: ProcessPoolExecutor) -> None:
        super().__init__()
        self._executor = executor

    def result(self, timeout: float | None = None) -> T:
        self._wait(timeout)
        return super().result(0)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._wait(timeout)
        return super().exception(0)

    def _wait(self, timeout: float | None) -> None:
        dispatcher = self._executor._dispatcher
        assert dispatcher is not None
        dispatcher.wait_until(self.done, timeout)

    def deliver_many(self, index: int, outcomes: list[tuple[bool, Any]]) -> None:
        for ok, value in outcomes:  # a future is one task
            self.deliver(index, ok, value)

    def deliver(self, index: int, ok: bool, value: Any) -> None:
        if ok:
            self.set_result(value)
        else:
            self.set_exception(value)
        self._executor._answered()


def _chunks(calls: Iterator[tuple[Any, ...]], size: int) -> Iterator[tuple[Any, ...]]:
    while chunk := tuple(itertools.islice(calls, size)):
        yield chunk


def _flattened(chunks: Iterator[list[Any]]) -> Iterator[Any]:
    """The results of the chunks' calls; closed, it cancels the calls left."""
    try:
        for chunk in chunks:
            chunk.reverse()
            while chunk:  # popped: a result the caller dropped is freed
                yield chunk.pop()
    finally:
        chunks.close()  # type: ignore[attr-defined]


def _in_order(futures: list[_Future[Any]], end: float | None) -> Iterator[Any]:
    """The futures' results in order, each by `end`; those not reached are
    cancelled (as Executor.map does)."""
    try:
        futures.reverse()
        while futures:
            future = futures.pop()
            try:
                yield future.result(None if end is None else end - time.monotonic())
            finally:
                future.cancel()
    finally:
        for future in futures:
            future.cancel()


@atexit.register
def _finish_at_exit() -> None:
    # As the standard library's: the tasks submitted are done before the
    # interpreter exits.  Registered after multiprocessing's exit function,
    # so it runs before that terminates the workers.
    global _exiting
    _exiting = True
    for executor in list(_live):
        executor.shutdown(wait=True)
