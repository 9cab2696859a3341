"""Functions the notebooks run in worker processes.

Workers started with spawn or forkserver import the function they run by
its module and name; a function defined in a notebook cell lives in the
kernel's ``__main__``, which they cannot import, so it lives here.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import numpy as np

import memshare as ms


def first(a: np.ndarray) -> float:
    """One number of `a`: the cost of a task is the cost of getting `a`."""
    return float(a.flat[0])


def first_value(obj: Any) -> float:
    """The first value of a DataFrame, an Arrow table or the object an
    ``ms.ObjectRef`` holds: the cost of a task is the cost of getting `obj`."""
    if isinstance(obj, ms.ObjectRef):
        obj = obj.get()
    if hasattr(obj, "iat"):  # a DataFrame
        return float(obj.iat[0, 0])
    return float(obj.column(0)[0].as_py())  # an Arrow table


def normalize(rows: np.ndarray) -> np.ndarray:
    """Centre each row on zero, in place: the caller sees the change."""
    rows -= rows.mean(axis=1, keepdims=True)
    return rows


def hold(a: np.ndarray, touched: ms.Semaphore, release: ms.Event) -> float:
    """Read every page of `a`, say so, and keep `a` until `release` is set."""
    total = float(a.sum())
    touched.release()
    release.wait()
    return total


def count(counter: np.ndarray, times: int) -> None:
    """Add 1 to ``counter[0]`` `times` times, with no lock: a race."""
    for _ in range(times):
        counter[0] += 1


def count_locked(counter: np.ndarray, lock: ms.Lock, times: int) -> None:
    """Add 1 to ``counter[0]`` `times` times, each under `lock`."""
    for _ in range(times):
        with lock:
            counter[0] += 1


def count_atomic(counter: ms.AtomicInt, times: int) -> None:
    """Add 1 to `counter` `times` times, each one atomic."""
    for _ in range(times):
        counter.fetch_add(1)


def crash_holding(lock: ms.Lock) -> None:
    """Take `lock` and die holding it, as a crashed process would."""
    lock.acquire()
    os.kill(os.getpid(), signal.SIGKILL)


def echo(requests: Any, replies: Any) -> None:
    """Put every item got from `requests` (any queue) into `replies`, until
    a None."""
    while (item := requests.get()) is not None:
        replies.put(item)
