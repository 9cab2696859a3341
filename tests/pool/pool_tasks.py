"""Tasks the pool tests send to workers (a module of its own, so that
workers started by spawn and forkserver import them by name)."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np


def sqr(x: int, wait: float = 0.0) -> int:
    time.sleep(wait)
    return x * x


def mul(x: int, y: int) -> int:
    return x * y


def fail(message: str) -> None:
    raise ValueError(message)  # the line the remote traceback shows


def pid_of(_: object = None) -> int:
    return os.getpid()


def fill(a: np.ndarray[Any, Any], value: float) -> float:
    a[:] = value
    return float(a.sum())


def set_global(value: int) -> None:
    global _GLOBAL
    _GLOBAL = value


def get_global(_: object = None) -> int:
    return _GLOBAL


_GLOBAL = 0
