"""The loop a pool's worker process runs.

It takes tasks from the shared task queue, having the queue write their
numbers into the worker's claim words (the first and the last taken)
before each take commits, so that the parent knows which tasks a worker
that dies had.  It runs them, and puts their results as one record, the
put marking the last claim word ``DONE`` once the record is in.

One task at a time, unless tasks prove tiny: when the tasks a worker took
last took well under a millisecond each, it takes as many as make about a
tenth of a millisecond of work (at most 64).  That spares each tiny task
the queues' fixed costs, and the parent answering each alone; tasks that
take longer go one by one, so that the workers share them out evenly.  A
worker takes several only from tasks already waiting, never while it
waits, and not after a new job came (the parent counts the jobs it sends,
in shared memory): that job's tasks may not be tiny, so one goes alone
first.

It stops at a stop record (always taken alone), after ``limit`` tasks, or
when its parent has gone (looked at whenever the queue has been quiet for
a while).  Ctrl-C is the parent's to handle: a worker ignores SIGINT, and
the parent stops it.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import time
from concurrent.futures.process import _ExceptionWithTraceback
from dataclasses import dataclass
from multiprocessing.pool import (  # type: ignore[attr-defined]  # untyped there
    ExceptionWithTraceback,
    MaybeEncodingError,
)
from types import TracebackType
from typing import Any, Final, cast

import numpy as np

from ..queues.classes import Queue
from ..queues.items import decode, encode, take_back
from .errors import TaskTransferError
from .tasks import Functions, trailer

__all__: list[str] = []

DONE: Final = 1 << 63  # in a claim word: the claimed tasks' results are in
_QUIET: Final = 1.0  # seconds without a task or room before the parent is looked at
_TINY: Final = 20e-6  # seconds: tasks quicker than this are taken several at once
_BATCH: Final = 100e-6  # seconds of tiny tasks taken at once
_MOST: Final = 64

Claim = memoryview  # two 64-bit words of shared memory: first and last taken
Outcome = tuple[bool, Any]  # whether the task succeeded, and its value or exception


@dataclass(frozen=True)
class Setup:
    """What every worker of a pool is started with."""

    tasks: Queue
    results: Queue
    claims: np.ndarray[Any, np.dtype[np.uint64]]  # two words per worker slot
    jobs: np.ndarray[Any, np.dtype[np.uint64]]  # one word: the jobs sent
    initializer: Any
    initargs: tuple[Any, ...]
    limit: int | None  # tasks before the worker exits (None: no limit)
    executor: bool  # errors as concurrent.futures reports them, else as Pool


def serve(setup: Setup, slot: int) -> None:
    """The worker's main function."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    claim = setup.claims[slot].data
    if setup.initializer is not None:
        try:
            setup.initializer(*setup.initargs)
        except BaseException as error:
            if setup.executor:  # as the standard library's worker logs it
                logging.getLogger("concurrent.futures").critical(
                    "Exception in initializer:", exc_info=True
                )
            # Number 0 names no task: the pool is broken, and says why.
            _send(setup, claim, 0, [(False, _wrapped(error, setup.executor))])
            return
    _loop(setup, claim)


def _loop(setup: Setup, claim: Claim) -> None:
    tasks = setup.tasks._core
    jobs = setup.jobs.data  # a memoryview: the quickest to read
    functions = Functions()
    served, each, known = 0, 1.0, -1  # seconds a task of the last batch took
    while setup.limit is None or served < setup.limit:
        # Several at once only if tiny, of no job sent since, and waiting
        # now; a worker that waits for tasks takes the first alone.
        job = jobs[0]
        most = _batch(each) if job == known else 1
        if setup.limit is not None:
            most = min(most, setup.limit - served)
        got = []
        if most > 1 and tasks.qsize():  # read without the queue's lock
            got = tasks.get_many(most, False, None, False, True, claim)
        if not got:
            got = tasks.get_many(1, True, _QUIET, False, True, claim)
        if not got:
            if not _parent_alive():
                return
            continue
        count = len(got)
        took = _serve(setup, claim, functions, got)
        if took is None:
            return
        served, each, known = served + count, took, job


def _serve(
    setup: Setup, claim: Claim, functions: Functions, got: list[Any]
) -> float | None:
    """Runs the tasks `got` claimed, and sends their results: the seconds
    each took, or None if the worker is to stop (a stop record, or the
    parent gone)."""
    first = claim[0]
    start = time.perf_counter()
    outcomes = _run(got, functions, setup.executor)
    got.clear()  # nothing of the tasks kept while waiting for the next
    if not outcomes or not _send(setup, claim, first, outcomes):
        return None
    return (time.perf_counter() - start) / len(outcomes)


def _run(
    got: list[tuple[Any, int]], functions: Functions, executor: bool
) -> list[Outcome]:
    """Runs the tasks of the records `got`: their outcomes, none for a stop
    record."""
    outcomes: list[Outcome] = []
    for payload, flags in got:
        try:
            task = decode(payload, flags)
        except BaseException as error:  # noqa: BLE001 - the task's, sent back
            unreceived = TaskTransferError(
                f"the task could not be received by its worker: {error!r}"
            )
            outcomes.append((False, _wrapped(unreceived, executor, error)))
            continue
        if task is None:
            break  # asked to stop (a stop record comes alone)
        try:
            outcomes.append((True, functions.run(task)))
        except BaseException as error:  # noqa: BLE001 - the task's own, sent back
            outcomes.append((False, _wrapped(error, executor)))
    return outcomes


def _batch(each: float) -> int:
    """How many tasks to take at once, if each takes `each` seconds."""
    if each >= _TINY:
        return 1
    return min(_MOST, int(_BATCH / max(each, 1e-7)))


def _send(setup: Setup, claim: Claim, first: int, outcomes: list[Outcome]) -> bool:
    """Puts the outcomes of the tasks numbered from `first` as one record:
    whether it went (not if the parent has gone)."""
    results = setup.results._core
    try:
        payload, flags = encode(tuple(outcomes), results.largest)
    except BaseException:  # noqa: BLE001 - found out below, result by result
        sendable = tuple(
            _sendable(o, results.largest, setup.executor) for o in outcomes
        )
        payload, flags = encode(sendable, results.largest)
    payload = cast(bytes, payload) + trailer(first, len(outcomes))
    last = first + len(outcomes) - 1 if first else 0
    while not results.put(payload, flags, True, _QUIET, claim[1:], last | DONE):
        if not _parent_alive():
            return False
    return True


def _sendable(outcome: Outcome, largest: int, executor: bool) -> Outcome:
    """`outcome`, or the error of pickling its value, as the standard
    library's pools report a result they cannot send."""
    try:
        tried = encode(outcome, largest)
    except BaseException as error:  # noqa: BLE001 - sent in its place
        if executor:
            return False, _wrapped(error, executor)
        return False, MaybeEncodingError(error, outcome[1])
    take_back([tried])  # the handles it made are received here
    return outcome


def _wrapped(
    error: BaseException, executor: bool, raised_by: BaseException | None = None
) -> Any:
    # The exception with its traceback (or that of the exception it was
    # `raised_by`) as text, rebuilt in the parent with that text as its
    # cause, as the standard library's pools send it.
    raised = cast(TracebackType, (raised_by or error).__traceback__)
    if executor:
        return _ExceptionWithTraceback(error, raised)
    return ExceptionWithTraceback(error, raised)


def _parent_alive() -> bool:
    parent = multiprocessing.parent_process()
    return parent is None or parent.is_alive()
