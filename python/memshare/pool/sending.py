"""How ms.Pool's calls become the tasks it sends: the function named once
per call, the items pickled in batches (the workers start on the first
while the rest are made), each failure at its place, as in
multiprocessing: an item that cannot be pickled fails its own task, and
the input's own exception takes the place after the last item it gave."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..queues.items import encode, encode_plain, plain
from .dispatcher import Dispatcher, Sink, Target, Tasks
from .tasks import FunctionNames

if TYPE_CHECKING:
    from ..queues.items import Record
    from .results import IMapIterator

__all__: list[str] = []

# Items a map pickles before it puts their tasks in: few at first, for the
# workers to start at once, then more, for each put to carry many.
_FIRST_AT_ONCE = 64
_SENT_AT_ONCE = 1024
_LAZY_AT_ONCE = 256  # tasks an imap puts at once, at most
_LAZY_WAIT = 0.001  # seconds an imap's input may take to give them


class Sender:
    """Makes and sends the tasks of one pool's calls."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher
        self._names = FunctionNames()

    def send(
        self,
        sink: Sink,
        kind: int,
        func: Callable[..., object],
        chunks: Iterable[Any],
        count: int,
        chunksize: int = 1,
    ) -> None:
        """Sends the `count` tasks of `chunks` (of `chunksize` items each)
        from this thread; if the input raises, its exception is the result
        of the tasks left."""
        named, failed = self._named(func)
        items, made, at_once = iter(chunks), 0, _FIRST_AT_ONCE
        while True:
            most = max(1, at_once // chunksize)
            at_once = _SENT_AT_ONCE
            some, error = _some(items, most, None)
            if some:
                tasks = self._tasks(sink, kind, named, failed, some, made)
                self._dispatcher.submit(*tasks)
                made += len(some)
            if error is not None:
                for index in range(made, count):
                    sink.deliver(index, False, error)
                return
            if len(some) < most:
                return

    def lazily(
        self,
        sink: IMapIterator[Any],
        kind: int,
        func: Callable[..., object],
        chunks: Iterable[Any],
    ) -> Iterator[Tasks]:
        """The tasks of `chunks` as the input gives them, for the pool's
        feeder thread; then how many there were."""
        named, failed = self._named(func)
        items, made = iter(chunks), 0
        while True:
            some, error = _some(items, _LAZY_AT_ONCE, _LAZY_WAIT)
            if some:
                yield self._tasks(sink, kind, named, failed, some, made)
                made += len(some)
            if error is not None:
                sink.deliver(made, False, error)
                made += 1
            if error is not None or not some:
                sink.set_length(made)
                return

    def _named(self, func: Callable[..., object]) -> tuple[Any, Exception | None]:
        """What tasks carry for `func`, or why they cannot."""
        try:
            return self._names.name(func), None
        except Exception as error:  # noqa: BLE001 - each task's error
            return None, error

    def _tasks(
        self,
        sink: Sink,
        kind: int,
        named: Any,
        failed: Exception | None,
        chunks: list[Any],
        start: int,
    ) -> Tasks:
        """The records and targets of the tasks of `chunks`, at `start` in
        `sink`; those that cannot be pickled fail there."""
        largest = self._dispatcher.largest
        by_name = failed is None and type(named) is bytes
        records: list[Record] = []
        targets: list[Target] = []
        for index, chunk in enumerate(chunks, start):
            task = (kind, named, chunk)
            try:
                if failed is not None:
                    raise failed
                if by_name and plain(chunk):
                    records.append(encode_plain(task, largest))
                else:
                    records.append(encode(task, largest))
            except Exception as error:  # noqa: BLE001 - this task's error
                sink.deliver(index, False, error)
                self._dispatcher.wake()  # a waiter, if this runs in the feeder
            else:
                targets.append((sink, index))
        return records, targets


def chunks_of(items: Iterable[Any], size: int) -> Iterator[Any]:
    """The items one by one (size 1), else in tuples of `size`."""
    if size == 1:
        return iter(items)
    it = iter(items)
    return iter(lambda: tuple(itertools.islice(it, size)), ())


def _some(
    items: Iterator[Any], most: int, seconds: float | None
) -> tuple[list[Any], Exception | None]:
    """Up to `most` of `items`, fewer if they take over `seconds` to come
    (those that came go at once); and the exception the input raised, if
    it did (after what it gave)."""
    got: list[Any] = []
    end = None if seconds is None else time.monotonic() + seconds
    try:
        for item in items:
            got.append(item)
            if len(got) == most or (end is not None and time.monotonic() > end):
                break
    except Exception as error:  # noqa: BLE001 - the input's own, in its place
        return got, error
    return got, None
