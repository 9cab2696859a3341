"""CPython's test.test_mmap.MmapTests run against memshare.Mapping in place
of mmap.mmap.

Skipped, each for its reason: the test of mmap's repr text, and
test_flush_return_value, which expects flush() of a range that is not page
aligned to fail; memshare widens it to whole pages (a documented superset).
CPython skips the Windows-only tests itself."""

from __future__ import annotations

import mmap
from test import test_mmap

from cpython_suites import REPR, shim, skip

import memshare as ms

test_mmap.mmap = shim(mmap, mmap=ms.Mapping)


class MmapTests(test_mmap.MmapTests):
    pass


skip(
    MmapTests,
    {
        "test_repr": REPR,
        "test_flush_return_value": "expects flush(1, 6) to fail (offset not page "
        "aligned); memshare widens the range to whole pages",
    },
)
