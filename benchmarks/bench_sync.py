"""Locks in shared memory against multiprocessing's, side by side in one run.

    python benchmarks/bench_sync.py [--repeat N] [--count N]

- uncontended: ``acquire()`` then ``release()`` of a lock nobody else
  wants, ``count`` times in a row: ``memshare.Lock`` against
  ``multiprocessing.Lock`` (and ``threading.Lock``, which cannot cross
  processes, for scale).

Each case runs ``repeat`` times, interleaved with the others; the table
gives the median time per acquire+release and memshare's time over each
alternative's.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs of each case")
    parser.add_argument("--count", type=int, default=200_000, help="pairs per run")
    args = parser.parse_args()
    locks = {
        "memshare.Lock": ms.Lock(),
        "multiprocessing.Lock": multiprocessing.Lock(),
        "threading.Lock": threading.Lock(),
    }
    times: dict[str, list[float]] = {name: [] for name in locks}
    names = list(locks)
    for _ in range(args.repeat):
        names.reverse()  # each goes first as often as last
        for name in names:
            times[name].append(uncontended(locks[name], args.count))
    ours = statistics.median(times["memshare.Lock"])
    print(
        f"uncontended acquire+release, medians of {args.repeat} runs of {args.count:,}"
    )
    print(f"{'lock':<22} {'time':>9} {'memshare / it':>14}")
    for name, runs in times.items():
        median = statistics.median(runs)
        print(f"{name:<22} {median * 1e9:>6.0f} ns {ours / median:>14.3g}")


if __name__ == "__main__":
    main()
