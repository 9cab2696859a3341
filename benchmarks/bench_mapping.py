"""ms.Mapping against mmap.mmap, side by side, in one run.

    python benchmarks/bench_mapping.py [--size MiB] [--repeat N]

Each case runs against both, interleaved, several times; the table gives the
median time of each and the ratio memshare / mmap (below 1: memshare is
faster).  Both map the same kind of memory: shared anonymous, populated.
"""

from __future__ import annotations

import argparse
import mmap
import statistics
import time
from collections.abc import Callable

import memshare as ms

Case = Callable[[object], object]


def cases(size: int) -> dict[str, Case]:
    needle = b"needle-not-there"
    return {
        "find (absent)": lambda m: m.find(needle),  # type: ignore[attr-defined]
        "rfind (absent)": lambda m: m.rfind(needle),  # type: ignore[attr-defined]
        "read all": lambda m: (m.seek(0), m.read())[1],  # type: ignore[attr-defined]
        "slice all": lambda m: m[:],  # type: ignore[index]
        "slice step 2": lambda m: m[::2],  # type: ignore[index]
        "assign all": lambda m: m.__setitem__(slice(0, size), bytes(size)),  # type: ignore[attr-defined]
        "1M item reads": lambda m: sum(m[i] for i in range(1 << 20)),  # type: ignore[index]
        "1M read_byte": lambda m: (m.seek(0), [m.read_byte() for _ in range(1 << 20)]),  # type: ignore[attr-defined]
    }


def make(kind: str, size: int) -> object:
    if kind == "mmap":
        m = mmap.mmap(-1, size)
        m[:] = bytes(size)  # touch every page, as populate=True does
        return m
    return ms.map_anonymous(size, populate=True)


def measure(case: Case, mapping: object) -> float:
    start = time.perf_counter()
    case(mapping)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="MiB (default 256)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    size = args.size << 20
    mappings = {kind: make(kind, size) for kind in ("mmap", "memshare")}
    print(f"mappings of {args.size} MiB, median of {args.repeat} runs")
    print(f"{'case':<16} {'mmap':>10} {'memshare':>10} {'ratio':>7}")
    for name, case in cases(size).items():
        times: dict[str, list[float]] = {kind: [] for kind in mappings}
        for _ in range(args.repeat):
            for kind, mapping in mappings.items():  # interleaved
                times[kind].append(measure(case, mapping))
        base, ours = (statistics.median(times[kind]) for kind in ("mmap", "memshare"))
        print(
            f"{name:<16} {base * 1e3:>8.2f}ms {ours * 1e3:>8.2f}ms {ours / base:>7.2f}"
        )


if __name__ == "__main__":
    main()
