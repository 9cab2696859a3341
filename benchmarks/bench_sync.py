"""Synchronization in shared memory against multiprocessing's, side by
side in one run.

    python benchmarks/bench_sync.py [--repeat N] [--count N] [--rounds N]

- uncontended: ``acquire()`` then ``release()`` of a lock nobody else
  wants, ``count`` times in a row: ``memshare.Lock`` against
  ``multiprocessing.Lock`` (and ``threading.Lock``, which cannot cross
  processes, for scale);
- ping-pong: two processes hand the turn back and forth through two
  events, ``rounds`` round trips: ``memshare.Event`` against
  ``multiprocessing.Event``.

Each case runs ``repeat`` times, interleaved with the others; the tables
give the median time per acquire+release and per round trip, and
memshare's time over each alternative's.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import threading
import time
from typing import Any

import memshare as ms


def uncontended(lock: Any, count: int) -> float:
    acquire, release = lock.acquire, lock.release
    start = time.perf_counter()
    for _ in range(count):
        acquire()
        release()
    return (time.perf_counter() - start) / count


def answer(ping: Any, pong: Any, rounds: int) -> None:
    for _ in range(rounds):
        ping.wait()
        ping.clear()
        pong.set()


def ping_pong(events: Any, rounds: int) -> float:
    """Seconds per round trip between this process and another."""
    ping, pong = events()
    other = multiprocessing.get_context("spawn").Process(
        target=answer, args=(ping, pong, rounds + 10)
    )
    other.start()
    for _ in range(10):  # the other process is up and spinning
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


def table(title: str, times: dict[str, list[float]], ours: str, unit: str) -> None:
    scale = {"ns": 1e9, "us": 1e6}[unit]
    mine = statistics.median(times[ours])
    print(title)
    print(f"{'':<22} {'time':>10} {'memshare / it':>14}")
    for name, runs in times.items():
        median = statistics.median(runs)
        print(f"{name:<22} {median * scale:>7.1f} {unit} {mine / median:>14.3g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs of each case")
    parser.add_argument("--count", type=int, default=200_000, help="pairs per run")
    parser.add_argument("--rounds", type=int, default=2000, help="round trips per run")
    args = parser.parse_args()
    locks = {
        "memshare.Lock": ms.Lock(),
        "multiprocessing.Lock": multiprocessing.Lock(),
        "threading.Lock": threading.Lock(),
    }
    events = {
        "memshare.Event": lambda: (ms.Event(), ms.Event()),
        "multiprocessing.Event": lambda: (
            multiprocessing.get_context("spawn").Event(),
            multiprocessing.get_context("spawn").Event(),
        ),
    }
    lock_times: dict[str, list[float]] = {name: [] for name in locks}
    event_times: dict[str, list[float]] = {name: [] for name in events}
    # Interleaved, each case going first as often as last.
    for run in range(args.repeat):
        for name in reversed(lock_times) if run % 2 else lock_times:
            lock_times[name].append(uncontended(locks[name], args.count))
    for run in range(max(args.repeat // 3, 1)):
        for name in reversed(event_times) if run % 2 else event_times:
            event_times[name].append(ping_pong(events[name], args.rounds))
    table(
        f"uncontended acquire+release, medians of {args.repeat} runs of {args.count:,}",
        lock_times,
        "memshare.Lock",
        "ns",
    )
    print()
    table(
        f"ping-pong round trip between two processes, medians of "
        f"{max(args.repeat // 3, 1)} runs of {args.rounds:,}",
        event_times,
        "memshare.Event",
        "us",
    )


if __name__ == "__main__":
    main()
