"""Handing a 1 GiB array to a Pool worker and getting a result back.

    python benchmarks/bench_handoff.py [--size MiB] [--repeat N] [--methods ...]

Three ways, side by side in one run, interleaved, under each start method:

- pickling: ``pool.apply(work, (array,))`` with a plain NumPy array, which is
  what the obvious code does today;
- stdlib by name: the array lives in a ``multiprocessing.shared_memory``
  block made beforehand; the worker gets its name, shape and dtype, attaches,
  builds the array, and detaches (the hand-written pattern);
- memshare: ``pool.apply(work, (array,))`` with an ``ms.empty`` array, the
  same obvious code.

The worker reads the first and last element and sends back a float, so the
time is the hand-off itself (send, attach, result back), not work on the
data.  The table gives the median time, the bytes multiprocessing pickled
for the arguments, and memshare's time over each alternative's.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from collections.abc import Callable
from multiprocessing.pool import Pool
from multiprocessing.reduction import ForkingPickler
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import numpy as np

import memshare as ms


def ends(array: np.ndarray[Any, Any]) -> float:
    return float(array.flat[0] + array.flat[-1])


def ends_by_name(name: str, shape: tuple[int, ...], dtype: str) -> float:
    # Attaching registers the block with the resource tracker as if this
    # worker owned it (CPython gh-82300); harmless here only because pool
    # workers share the parent's tracker, which keeps a set of names.
    block = SharedMemory(name=name)
    array: np.ndarray[Any, Any] = np.ndarray(shape, dtype, buffer=block.buf)
    result = ends(array)
    del array
    block.close()
    return result


class Contenders:
    """The same data three ways, and how to hand each to a worker."""

    def __init__(self, size: int) -> None:
        count = size // 8
        self.plain = np.ones(count)
        self.block = SharedMemory(create=True, size=size)
        self.by_name: np.ndarray[Any, Any] = np.ndarray(
            count, np.float64, buffer=self.block.buf
        )
        self.by_name[:] = 1.0
        self.shared = ms.ones(count)

    def arguments(self) -> dict[str, tuple[Callable[..., float], tuple[Any, ...]]]:
        return {
            "pickling": (ends, (self.plain,)),
            "stdlib by name": (
                ends_by_name,
                (self.block.name, self.by_name.shape, self.by_name.dtype.str),
            ),
            "memshare": (ends, (self.shared,)),
        }

    def close(self) -> None:
        del self.by_name
        self.block.close()
        self.block.unlink()


def pickled_bytes(arguments: tuple[Any, ...]) -> int:
    data = ForkingPickler.dumps(arguments)
    ForkingPickler.loads(data)  # takes back what the pickling offered
    return len(data)


def hand_off(
    pool: Pool, work: Callable[..., float], arguments: tuple[Any, ...]
) -> float:
    start = time.perf_counter()
    result = pool.apply(work, arguments)
    elapsed = time.perf_counter() - start
    # The worker frees the arguments after it answers (a pickled 1 GiB copy
    # takes tens of milliseconds to unmap): let it finish before the next
    # case, so that no case pays for the one before.
    pool.apply(int)
    if result != 2.0:
        raise AssertionError(f"{work.__name__} returned {result}, not 2.0")
    return elapsed


def run(method: str, contenders: Contenders, repeat: int, rounds: int) -> None:
    cases = contenders.arguments()
    sizes = {name: pickled_bytes(arguments) for name, (_, arguments) in cases.items()}
    times: dict[str, list[float]] = {name: [] for name in cases}
    context = multiprocessing.get_context(method)
    # Pickling takes seconds and churns gigabytes through both processes,
    # which would slow whatever runs next: it has a pool of its own.
    with context.Pool(1) as pool:
        work, arguments = cases["pickling"]
        hand_off(pool, work, arguments)  # warm up
        times["pickling"] = [hand_off(pool, work, arguments) for _ in range(repeat)]
    # The others take well under a millisecond: many rounds, interleaved,
    # each going first as often as the other.
    quick = ["stdlib by name", "memshare"]
    with context.Pool(1) as pool:
        for round_ in range(-2, rounds):  # two rounds to warm up, not counted
            quick.reverse()
            for name in quick:
                work, arguments = cases[name]
                elapsed = hand_off(pool, work, arguments)
                if round_ >= 0:
                    times[name].append(elapsed)
    medians = {name: statistics.median(runs) for name, runs in times.items()}
    ours = medians["memshare"]
    print(f"\nstart method {method}: medians of {repeat} and of {rounds} runs")
    print(f"{'hand-off':<16} {'time':>12} {'pickled':>16} {'memshare / it':>14}")
    for name, median in medians.items():
        print(
            f"{name:<16} {format_time(median):>12} {sizes[name]:>14,} B "
            f"{ours / median:>14.3g}"
        )


def format_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} us"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="MiB (default 1024)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of pickling")
    parser.add_argument("--rounds", type=int, default=400, help="runs of the others")
    parser.add_argument(
        "--methods",
        nargs="+",
        default=["fork", "spawn", "forkserver"],
        choices=multiprocessing.get_all_start_methods(),
    )
    args = parser.parse_args()
    contenders = Contenders(args.size << 20)
    print(f"a float64 array of {args.size} MiB to one Pool worker and a float back")
    try:
        for method in args.methods:
            run(method, contenders, args.repeat, args.rounds)
    finally:
        contenders.close()


if __name__ == "__main__":
    main()
