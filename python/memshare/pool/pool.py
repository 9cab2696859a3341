"""``ms.Pool``: :class:`multiprocessing.pool.Pool`'s interface over queues
in shared memory."""

from __future__ import annotations

import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from multiprocessing.util import Finalize
from typing import TYPE_CHECKING, Any, TypeVar

from .dispatcher import RUN, Dispatcher
from .results import AsyncResult, Callback, IMapIterator, MapResult, flatten
from .sending import Sender, chunks_of
from .tasks import CALL, MAP, ONE, STAR, STARMAP

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Pool"]

T = TypeVar("T")


def positive_int(value: object) -> bool:
    return isinstance(value, int) and value > 0


def default_processes() -> int:
    """As the standard library's pools count CPUs on this Python."""
    count = getattr(os, "process_cpu_count", os.cpu_count)()
    return count or 1


class Pool:
    """A pool of worker processes with :class:`multiprocessing.pool.Pool`'s
    interface: ``apply``, ``map``, ``imap``, ``imap_unordered``,
    ``starmap`` and their ``_async`` forms with callbacks, ``close``,
    ``terminate``, ``join``, and use as a context manager (which
    terminates it on exit, as multiprocessing's does).

    Tasks and results go through queues in shared memory: a round trip
    costs microseconds instead of a pipe's hundreds, and tiny tasks flow
    without batching.  Shared arrays and :class:`ObjectRef` go by handle,
    other NumPy arrays' data out of band.

    Unlike multiprocessing's, a worker that dies during a task (killed, out
    of memory) fails that task with :class:`WorkerLostError`, naming the
    worker and its signal, and the pool starts another and goes on; a
    worker whose initializer raises breaks the pool with that error
    instead of being restarted for ever; ``terminate()`` fails the tasks
    not done instead of leaving their results waiting for ever; a callback
    that raises is logged (``memshare.pool``) instead of ending the
    pool's result thread.  Workers ignore Ctrl-C (the pool stops them)
    and exit on their own if the pool's process dies.
    """

    __module__ = "memshare"

    def __init__(
        self,
        processes: int | None = None,
        initializer: Callable[..., object] | None = None,
        initargs: Iterable[Any] = (),
        maxtasksperchild: int | None = None,
        context: BaseContext | None = None,
    ) -> None:
        self._dispatcher: Dispatcher | None = None  # for __del__ if we raise
        if processes is None:
            processes = default_processes()
        if processes < 1:
            raise ValueError("Number of processes must be at least 1")
        if maxtasksperchild is not None and not positive_int(maxtasksperchild):
            raise ValueError("maxtasksperchild must be a positive int or None")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        self._ctx = context or multiprocessing.get_context()
        self._processes = processes
        self._dispatcher = Dispatcher(
            self._ctx,
            processes,
            initializer,
            tuple(initargs),
            maxtasksperchild,
            executor=False,
        )
        self._sender = Sender(self._dispatcher)
        # Terminated when collected, or at exit, as multiprocessing's.
        self._terminate = Finalize(self, self._dispatcher.terminate, exitpriority=15)

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        dispatcher = getattr(self, "_dispatcher", None)
        if dispatcher is not None and dispatcher.state == RUN:
            _warn(
                f"unclosed running memshare pool {self!r}", ResourceWarning, source=self
            )

    def __repr__(self) -> str:
        state = "INIT" if self._dispatcher is None else self._dispatcher.state
        return f"<memshare.Pool state={state} pool_size={self._processes}>"

    def __reduce__(self) -> Any:
        raise NotImplementedError(
            "pool objects cannot be passed between processes or pickled"
        )

    def __enter__(self) -> Self:
        self._check_running()
        return self

    def __exit__(self, *_: object) -> None:
        self.terminate()

    @property
    def _pool(self) -> list[BaseProcess]:
        # multiprocessing's attribute of the same name, which its own tests
        # (and some users) read: the worker processes.
        return self._running().workers.processes

    # -- one call ---------------------------------------------------------

    def apply(
        self,
        func: Callable[..., T],
        args: Iterable[Any] = (),
        kwds: Mapping[str, Any] = {},
    ) -> T:
        """``func(*args, **kwds)`` in a worker."""
        return self.apply_async(func, args, kwds).get()

    def apply_async(
        self,
        func: Callable[..., T],
        args: Iterable[Any] = (),
        kwds: Mapping[str, Any] = {},
        callback: Callback = None,
        error_callback: Callback = None,
    ) -> AsyncResult[T]:
        """:meth:`apply` at once: its AsyncResult."""
        dispatcher = self._running()
        result: AsyncResult[T] = AsyncResult(dispatcher, callback, error_callback)
        if kwds:
            self._sender.send(result, CALL, func, [(args, kwds)], 1)
        else:  # plain arguments pickle quicker alone
            self._sender.send(result, STAR, func, [tuple(args)], 1)
        return result

    # -- maps -------------------------------------------------------------

    def map(
        self,
        func: Callable[[Any], T],
        iterable: Iterable[Any],
        chunksize: int | None = None,
    ) -> list[T]:
        """``[func(x) for x in iterable]``, in the workers, in chunks."""
        # Waiting from the start: the background thread does not take the
        # first results while this thread still pickles the last tasks.
        with self._running().waiting():
            return self._map_async(func, iterable, False, chunksize).get()

    def map_async(
        self,
        func: Callable[[Any], T],
        iterable: Iterable[Any],
        chunksize: int | None = None,
        callback: Callback = None,
        error_callback: Callback = None,
    ) -> MapResult[T]:
        """:meth:`map` at once: its AsyncResult."""
        return self._map_async(
            func, iterable, False, chunksize, callback, error_callback
        )

    def starmap(
        self,
        func: Callable[..., T],
        iterable: Iterable[Iterable[Any]],
        chunksize: int | None = None,
    ) -> list[T]:
        """``[func(*args) for args in iterable]``, in the workers."""
        with self._running().waiting():
            return self._map_async(func, iterable, True, chunksize).get()

    def starmap_async(
        self,
        func: Callable[..., T],
        iterable: Iterable[Iterable[Any]],
        chunksize: int | None = None,
        callback: Callback = None,
        error_callback: Callback = None,
    ) -> MapResult[T]:
        """:meth:`starmap` at once: its AsyncResult."""
        return self._map_async(
            func, iterable, True, chunksize, callback, error_callback
        )

    def imap(
        self, func: Callable[[Any], T], iterable: Iterable[Any], chunksize: int = 1
    ) -> Iterator[T]:
        """The results of ``func`` over `iterable`, in order, as they come;
        the input is read (by a thread of the pool) as tasks go in."""
        return self._imap(func, iterable, chunksize, ordered=True)

    def imap_unordered(
        self, func: Callable[[Any], T], iterable: Iterable[Any], chunksize: int = 1
    ) -> Iterator[T]:
        """As :meth:`imap`, the results in the order they come."""
        return self._imap(func, iterable, chunksize, ordered=False)

    def _map_async(
        self,
        func: Callable[..., T],
        iterable: Iterable[Any],
        star: bool,
        chunksize: int | None,
        callback: Callback = None,
        error_callback: Callback = None,
    ) -> MapResult[T]:
        dispatcher = self._running()
        items = iterable if hasattr(iterable, "__len__") else list(iterable)
        length = len(items)  # type: ignore[arg-type]
        if chunksize is None:
            chunksize, extra = divmod(length, self._processes * 4)
            chunksize += bool(extra)
        elif chunksize < 1:
            raise ValueError(f"Chunksize must be 1+, not {chunksize!r}")
        result: MapResult[T] = MapResult(
            dispatcher, chunksize, length, callback, error_callback
        )
        if length:
            kind = (
                (STAR if star else ONE)
                if chunksize == 1
                else (STARMAP if star else MAP)
            )
            chunks = chunks_of(items, chunksize)
            count = -(-length // chunksize)
            self._sender.send(result, kind, func, chunks, count, chunksize)
        return result

    def _imap(
        self,
        func: Callable[[Any], T],
        iterable: Iterable[Any],
        chunksize: int,
        ordered: bool,
    ) -> Iterator[T]:
        dispatcher = self._running()
        if chunksize < 1:
            raise ValueError(f"Chunksize must be 1+, not {chunksize!r}")
        result: IMapIterator[Any] = IMapIterator(dispatcher, ordered)
        kind = ONE if chunksize == 1 else MAP
        chunks = chunks_of(iterable, chunksize)
        dispatcher.feed(self._sender.lazily(result, kind, func, chunks))
        return result if chunksize == 1 else flatten(result)

    # -- the end ----------------------------------------------------------

    def close(self) -> None:
        """No more tasks: the workers exit once the tasks sent are done."""
        if self._dispatcher is not None:
            self._dispatcher.close(self._processes)

    def terminate(self) -> None:
        """Stops the workers at once; tasks not done fail
        (``BrokenProcessPool``)."""
        self._terminate()

    def join(self) -> None:
        """Waits for the workers to exit, after :meth:`close` or
        :meth:`terminate`."""
        dispatcher = self._dispatcher
        if dispatcher is None or dispatcher.state == RUN:
            raise ValueError("Pool is still running")
        dispatcher.join()

    def _running(self) -> Dispatcher:
        dispatcher = self._dispatcher
        if dispatcher is not None and dispatcher.failure is not None:
            broken = BrokenProcessPool(str(dispatcher.failure))
            raise broken from dispatcher.failure.__cause__
        if dispatcher is None or dispatcher.state != RUN:
            raise ValueError("Pool not running")
        return dispatcher

    def _check_running(self) -> None:
        self._running()
