"""Running CPython's own test suites (installed with every interpreter as the
`test` package) against memshare's classes."""

from __future__ import annotations

import types
import unittest
from typing import Any


def shim(module: types.ModuleType, **replaced: Any) -> types.ModuleType:
    """A module that is `module` but for the names in `replaced`: given to a
    CPython test module in place of the one it imported, so that its tests
    use memshare's classes."""
    copy = types.ModuleType(module.__name__)
    copy.__dict__.update(module.__dict__)
    copy.__dict__.update(replaced)
    return copy


def skip(cls: type, reasons: dict[str, str]) -> None:
    """Skip the tests of `cls` named in `reasons`, each for its reason.  A
    name this Python's version of the suite lacks is passed over."""
    for name, reason in reasons.items():
        if hasattr(cls, name):
            setattr(cls, name, unittest.skip(reason)(getattr(cls, name)))


# The reasons the drop-in rules allow, in so many words.
PRIVATE = "reads a private attribute of the standard library's class: {}"
REPR = "compares the standard library's repr text"
