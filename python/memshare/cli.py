"""The command line: ``python -m memshare <command>``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import __version__, demo


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m memshare",
        description="Share memory between Python processes.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "demo",
        help="show the four kinds of mapping with a real child process",
        description="Show the four kinds of mapping with a real child process.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            return demo.run(sys.stdout)
    except BrokenPipeError:
        # The reader went away (`... | head`).  Python flushes stdout at exit:
        # point it at /dev/null so that flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    raise AssertionError(f"unhandled command {args.command!r}")  # pragma: no cover
