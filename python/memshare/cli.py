"""The command line: ``python -m memshare <command>``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import stat
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from . import __version__
from ._core import format_bytes
from .demo import mappings as demo_mappings
from .demo import pool as demo
from .explore.system_info import info
from .shm.calls import shm_unlink
from .shm.segments import Segment, clean_segments, segment, segments


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{max(seconds, 0):.0f}s"


def _creator(found: Segment) -> str:
    if found.creator is None:
        return "-"
    return f"{found.creator} ({'alive' if found.creator_alive else 'gone'})"


def _row(found: Segment) -> dict[str, str]:
    return {
        "NAME": found.name,
        "SIZE": format_bytes(found.size),
        "OWNER": found.owner,
        "MODE": stat.filemode(stat.S_IFREG | found.mode)[1:],
        "AGE": _age(found.age),
        "MAPPED BY": ",".join(map(str, found.mapped_by)) or "-",
        "CREATOR": _creator(found),
    }


def _table(rows: list[dict[str, str]], out: TextIO) -> None:
    if not rows:
        return
    widths = {key: max(len(key), *(len(row[key]) for row in rows)) for key in rows[0]}
    for line in [{key: key for key in rows[0]}, *rows]:
        print(
            "  ".join(value.ljust(widths[key]) for key, value in line.items()).rstrip(),
            file=out,
        )


def _as_json(found: Segment) -> dict[str, object]:
    return {**dataclasses.asdict(found), "age": found.age, "leftover": found.leftover}


def _print_json(value: object, out: TextIO) -> None:
    json.dump(value, out, indent=2)
    print(file=out)


def _ls(args: argparse.Namespace, out: TextIO) -> int:
    found = segments()
    if args.json:
        _print_json([_as_json(s) for s in found], out)
    elif found:
        _table([_row(s) for s in found], out)
    else:
        print("/dev/shm holds no shared memory objects", file=out)
    return 0


def _info(args: argparse.Namespace, out: TextIO) -> int:
    if args.name is None:
        found_here = info()
        if args.json:
            _print_json(found_here.as_dict(), out)
        else:
            print(found_here, file=out)
        return 0
    found = segment(args.name)
    if args.json:
        _print_json(_as_json(found), out)
        return 0
    details = {
        **_row(found),
        "SIZE": f"{found.size} bytes ({format_bytes(found.size)})",
        "MADE BY MEMSHARE": "yes" if found.memshare else "no (or not recorded)",
        "TRACKED": "-" if found.tracked is None else "yes" if found.tracked else "no",
        "LEFTOVER": "yes" if found.leftover else "no",
    }
    width = max(map(len, details))
    for key, value in details.items():
        print(f"{key.lower():<{width}}  {value}", file=out)
    return 0


def _rm(args: argparse.Namespace, out: TextIO) -> int:
    status = 0
    for name in args.names:
        try:
            shm_unlink(name)
        except (OSError, ValueError) as error:
            print(f"memshare rm: {name}: {error}", file=sys.stderr)
            status = 1
    return status


def _clean(args: argparse.Namespace, out: TextIO) -> int:
    found = clean_segments(dry_run=args.dry_run)
    if args.json:
        _print_json([_as_json(s) for s in found], out)
        return 0
    verb = "would remove" if args.dry_run else "removed"
    for leftover in found:
        print(
            f"{verb} {leftover.name} ({format_bytes(leftover.size)}, creator "
            f"{leftover.creator} gone)",
            file=out,
        )
    if not found:
        print("no leftovers of dead creators", file=out)
    return 0


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    if args.topic == "mappings":
        return demo_mappings.run(out)
    return demo.run(out, args.size, args.workers, args.start_method)


def _bench(args: argparse.Namespace, out: TextIO) -> int:
    from .bench import report  # imports the cases only when asked

    unknown = sorted(set(args.cases) - set(report.CASES))
    if unknown:
        raise ValueError(f"no such case: {', '.join(unknown)} (see --help)")
    return report.run(args.cases or list(report.CASES), args.quick, args.json, out)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m memshare",
        description="Share memory between Python processes.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, run: Callable[..., int], help: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=help, description=help[0].upper() + help[1:] + "."
        )
        sub.set_defaults(run=run)
        return sub

    show = command(
        "demo",
        _demo,
        "show a Pool working on a shared array against pickling (or, with "
        "'mappings', the four kinds of mapping)",
    )
    show.add_argument(
        "topic", nargs="?", choices=["arrays", "mappings"], default="arrays"
    )
    show.add_argument("--size", type=_positive, default=512, help="MiB of data (512)")
    show.add_argument(
        "--workers",
        type=_positive,
        default=min(os.cpu_count() or 1, 8),
        help="Pool size",
    )
    show.add_argument(
        "--start-method", choices=multiprocessing.get_all_start_methods(), default=None
    )
    bench = command(
        "bench",
        _bench,
        "time memshare against what you would use instead, side by side",
    )
    bench.add_argument(
        "cases",
        nargs="*",
        metavar="CASE",
        help="allocation, handoff, first-touch, memory, files, sync, queue, pool, objects, joblib, dask or ray (all of them)",
    )
    bench.add_argument("--quick", action="store_true", help="smaller, in a minute")
    bench.add_argument("--json", action="store_true", help="print JSON for scripts")
    ls = command("ls", _ls, "list the shared memory objects in /dev/shm")
    ls.add_argument("--json", action="store_true", help="print JSON for scripts")
    describe = command(
        "info",
        _info,
        "describe one shared memory object, or (with no name) what this machine "
        "allows: page sizes, huge pages, /dev/shm, limits",
    )
    describe.add_argument("name", nargs="?")
    describe.add_argument("--json", action="store_true", help="print JSON for scripts")
    rm = command("rm", _rm, "remove shared memory objects by name")
    rm.add_argument("names", nargs="+", metavar="NAME")
    clean = command(
        "clean", _clean, "remove the segments memshare made whose creator is gone"
    )
    clean.add_argument("--dry-run", action="store_true", help="list, remove nothing")
    clean.add_argument("--json", action="store_true", help="print JSON for scripts")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args, sys.stdout))
    except BrokenPipeError:
        # The reader went away (`... | head`).  Python flushes stdout at exit:
        # point it at /dev/null so that flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (OSError, ValueError) as error:
        print(f"memshare {args.command}: {error}", file=sys.stderr)
        return 1
