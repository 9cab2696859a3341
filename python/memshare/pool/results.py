"""What ``ms.Pool``'s asynchronous calls return: the interfaces of
``multiprocessing.pool``'s AsyncResult, MapResult and IMapIterator.

They hold no event to wait on: a thread that waits takes the pool's results
itself until its own is in (see ``dispatcher.py``).  Results arrive from
any thread; callbacks run in the thread that takes the result, before the
result is ready, as multiprocessing runs them before setting its event.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from multiprocessing import TimeoutError
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from .dispatcher import Dispatcher

__all__ = ["AsyncResult", "IMapIterator", "MapResult"]

log = logging.getLogger("memshare.pool")

T = TypeVar("T")
Callback = Callable[[Any], object] | None


def _call_back(callback: Callback, value: Any, result: object) -> None:
    if callback is None:
        return
    try:
        callback(value)
    except Exception:
        # Reported as concurrent.futures reports a failing done-callback;
        # multiprocessing's result thread died of it, and the pool hung.
        log.exception("exception calling callback for %r", result)


class AsyncResult(Generic[T]):
    """The result of :meth:`Pool.apply_async`: ``get``, ``wait``, ``ready``
    and ``successful``, as :class:`multiprocessing.pool.AsyncResult`."""

    __module__ = "memshare"

    def __init__(
        self,
        dispatcher: Dispatcher,
        callback: Callback = None,
        error_callback: Callback = None,
    ) -> None:
        self._dispatcher = dispatcher
        self._callback = callback
        self._error_callback = error_callback
        self._ready = False
        self._success = False
        self._value: Any = None

    def ready(self) -> bool:
        """Whether the call has finished."""
        return self._ready

    def successful(self) -> bool:
        """Whether the call finished without raising; ``ValueError`` if it
        has not finished."""
        if not self._ready:
            raise ValueError(f"{self!r} not ready")
        return self._success

    def wait(self, timeout: float | None = None) -> None:
        """Waits until the result is ready, or `timeout` seconds."""
        self._dispatcher.wait_until(self.ready, timeout)

    def get(self, timeout: float | None = None) -> T:
        """The result once ready: the call's exception is raised here;
        ``multiprocessing.TimeoutError`` if `timeout` seconds pass first."""
        self.wait(timeout)
        if not self._ready:
            raise TimeoutError
        if self._success:
            return self._value  # type: ignore[no-any-return]
        raise self._value

    def deliver(self, index: int, ok: bool, value: Any) -> None:
        self._success, self._value = ok, value
        _call_back(self._callback if ok else self._error_callback, value, self)
        self._ready = True

    def deliver_many(self, index: int, outcomes: list[tuple[bool, Any]]) -> None:
        """deliver() of each of `outcomes`, for tasks `index` on."""
        for at, (ok, value) in enumerate(outcomes, index):
            self.deliver(at, ok, value)


class MapResult(AsyncResult[list[T]]):
    """The result of :meth:`Pool.map_async`: ready once every chunk is in;
    the first exception of any chunk is its exception."""

    __module__ = "memshare"

    def __init__(
        self,
        dispatcher: Dispatcher,
        chunksize: int,
        length: int,
        callback: Callback = None,
        error_callback: Callback = None,
    ) -> None:
        super().__init__(dispatcher, callback, error_callback)
        self._success = True
        self._value = [None] * length
        self._chunksize = chunksize
        self._left = -(-length // chunksize) if length else 0
        self._lock = threading.Lock()
        if not self._left:
            _call_back(callback, self._value, self)
            self._ready = True

    def deliver(self, index: int, ok: bool, value: Any) -> None:
        self.deliver_many(index, [(ok, value)])

    def deliver_many(self, index: int, outcomes: list[tuple[bool, Any]]) -> None:
        with self._lock:
            self._left -= len(outcomes)
            for at, (ok, value) in enumerate(outcomes, index):
                if not ok:
                    if self._success:  # only the first exception is kept
                        self._success, self._value = False, value
                elif self._success:
                    if self._chunksize == 1:
                        self._value[at] = value  # a chunk of one goes alone
                    else:
                        start = at * self._chunksize
                        self._value[start : start + self._chunksize] = value
            if self._left:
                return
        callback = self._callback if self._success else self._error_callback
        _call_back(callback, self._value, self)
        self._ready = True


class IMapIterator(Generic[T]):
    """What :meth:`Pool.imap` and :meth:`Pool.imap_unordered` return: an
    iterator of the results, in order or as they come, whose ``next``
    takes a timeout; a task's exception is raised at its place, and the
    iteration may go on after it."""

    __module__ = "memshare"

    def __init__(self, dispatcher: Dispatcher, ordered: bool) -> None:
        self._dispatcher = dispatcher
        self._ordered = ordered
        self._lock = threading.Lock()
        self._items: deque[tuple[bool, Any]] = deque()
        self._index = 0  # results moved to _items
        self._unsorted: dict[int, tuple[bool, Any]] = {}
        self._length: int | None = None

    def __iter__(self) -> IMapIterator[T]:
        return self

    def next(self, timeout: float | None = None) -> T:
        """The next result; ``multiprocessing.TimeoutError`` if none comes
        within `timeout` seconds."""
        try:  # a deque's popleft() is atomic: no lock for a result that is in
            ok, value = self._items.popleft()
        except IndexError:
            if not self._dispatcher.wait_until(self._has_next, timeout):
                raise TimeoutError from None
            try:
                ok, value = self._items.popleft()
            except IndexError:
                raise StopIteration from None
        if ok:
            return value  # type: ignore[no-any-return]
        raise value

    __next__ = next

    def _has_next(self) -> bool:
        return bool(self._items) or self._index == self._length

    def deliver(self, index: int, ok: bool, value: Any) -> None:
        self.deliver_many(index, [(ok, value)])

    def deliver_many(self, index: int, outcomes: list[tuple[bool, Any]]) -> None:
        with self._lock:
            if not self._ordered:
                self._items.extend(outcomes)
                self._index += len(outcomes)
                return
            for at, outcome in enumerate(outcomes, index):
                if at != self._index:
                    self._unsorted[at] = outcome
                    continue
                self._items.append(outcome)
                self._index += 1
                while self._index in self._unsorted:
                    self._items.append(self._unsorted.pop(self._index))
                    self._index += 1

    def set_length(self, length: int) -> None:
        """All `length` tasks have been made."""
        with self._lock:
            self._length = length
        self._dispatcher.wake()  # a waiter for the end


def flatten(chunks: Iterator[list[T]]) -> Iterator[T]:
    """The items of the chunks, in their order (imap with chunksize > 1)."""
    return itertools.chain.from_iterable(chunks)
