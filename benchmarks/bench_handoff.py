"""Handing an array to a Pool worker and getting a result back, under each
start method (``python -m memshare bench handoff`` runs spawn only).

    python benchmarks/bench_handoff.py [--size MiB] [--quick] [--methods ...]

The cases are those of ``memshare.bench.handoff``: pickling a plain array,
the standard library's ``SharedMemory`` by name, and a memshare array.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys

from memshare.bench import handoff, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="256 MiB, fewer runs")
    parser.add_argument(
        "--methods",
        nargs="+",
        default=["fork", "spawn", "forkserver"],
        choices=multiprocessing.get_all_start_methods(),
    )
    args = parser.parse_args()
    rows = [row for method in args.methods for row in handoff.run(args.quick, method)]
    report.table(rows, sys.stdout)


if __name__ == "__main__":
    main()
