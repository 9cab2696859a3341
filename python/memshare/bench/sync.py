"""Synchronization between processes: memshare's against multiprocessing's.

- an uncontended ``acquire()`` then ``release()`` of a lock nobody else
  wants;
- a ping-pong: two processes hand the turn back and forth through two
  events.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import memshare as ms

from . import Comparison, against, alternating, interleaved, median_times


def uncontended(lock: Any, count: int) -> None:
    acquire, release = lock.acquire, lock.release
    for _ in range(count):
        acquire()
        release()


def answer(ping: Any, pong: Any, rounds: int) -> None:
    for _ in range(rounds):
        ping.wait()
        ping.clear()
        pong.set()


def ping_pong(events: Callable[[], tuple[Any, Any]], rounds: int) -> float:
    """Seconds per round trip between this process and another."""
    ping, pong = events()
    other = multiprocessing.get_context("spawn").Process(
        target=answer, args=(ping, pong, rounds + 10)
    )
    other.start()
    for _ in range(10):  # the other process is up and waiting
        ping.set()
        pong.wait()
        pong.clear()
    start = time.perf_counter()
    for _ in range(rounds):
        ping.set()
        pong.wait()
        pong.clear()
    elapsed = time.perf_counter() - start
    other.join()
    return elapsed / rounds


def run(quick: bool) -> list[Comparison]:
    count, repeat, rounds = (50_000, 5, 500) if quick else (200_000, 15, 2000)
    locks = {"multiprocessing.Lock": multiprocessing.Lock(), "memshare": ms.Lock()}
    times = interleaved(
        {name: partial(uncontended, lock, count) for name, lock in locks.items()},
        repeat,
    )
    per_pair = {name: median / count for name, median in median_times(times).items()}
    spawn = multiprocessing.get_context("spawn")
    events: dict[str, Callable[[], tuple[Any, Any]]] = {
        "multiprocessing.Event": lambda: (spawn.Event(), spawn.Event()),
        "memshare": lambda: (ms.Event(), ms.Event()),
    }
    trips = alternating(
        {name: partial(ping_pong, make, rounds) for name, make in events.items()},
        max(repeat // 3, 1),
    )
    return against("Lock acquire + release", per_pair, "memshare") + against(
        "Event ping-pong round trip", median_times(trips), "memshare"
    )
