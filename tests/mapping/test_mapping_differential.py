"""A differential fuzz of ms.Mapping against mmap.mmap: random sequences of
operations over a mapped file, the same for both, must give the same
results, raise the same exceptions (type, and errno for OSError), leave the
same position and length, and leave the same bytes on disk."""

from __future__ import annotations

import functools
import mmap
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import Recorder

import memshare as ms

PAGE = mmap.PAGESIZE
ACCESS = [mmap.ACCESS_WRITE, mmap.ACCESS_READ, mmap.ACCESS_COPY, mmap.ACCESS_DEFAULT]

# Numbers around the mapping's edges, where mistakes live.
SMALL = st.integers(-3 * PAGE, 3 * PAGE)
EDGE = st.sampled_from([0, 1, -1, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE, -PAGE])
NUMBER = st.integers(-16, 64) | EDGE | SMALL
DATA = st.binary(max_size=64) | st.just(b"\n") | st.binary(min_size=PAGE, max_size=PAGE)


def step(op: str, a: Any, b: Any, data: bytes) -> Callable[[Any], object]:
    """What `op` does to a mapping, given the drawn numbers `a`, `b` and bytes."""
    return {
        "read": lambda m: m.read(a),
        "read_all": lambda m: m.read(),
        "read_byte": lambda m: m.read_byte(),
        "readline": lambda m: m.readline(),
        "write": lambda m: m.write(data),
        "write_byte": lambda m: m.write_byte(a % 256),
        "seek": lambda m: (m.seek(a, b % 3), m.tell())[1],
        "tell": lambda m: m.tell(),
        "getitem": lambda m: m[a],
        "setitem": lambda m: m.__setitem__(a, b % 256),
        "getslice": lambda m: m[a:b],
        "setslice": lambda m: m.__setitem__(slice(a, a + len(data)), data),
        "stepped": lambda m: m[a : b : (a % 5) or 1],
        "find": lambda m: m.find(data[:3], a, b),
        "rfind": lambda m: m.rfind(data[:3], a, b),
        "move": lambda m: m.move(a % (PAGE * 3), b % (PAGE * 3), len(data)),
        "flush": lambda m: m.flush(),
        "flush_range": lambda m: m.flush(a - a % PAGE, b),
        "resize": lambda m: m.resize(abs(a) % (3 * PAGE) + 1),
        "size": lambda m: m.size(),
        "len": lambda m: len(m),
        "madvise": lambda m: m.madvise(mmap.MADV_NORMAL, a - a % PAGE, b),
    }[op]


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "read",
                "read_all",
                "read_byte",
                "readline",
                "write",
                "write_byte",
                "seek",
                "tell",
                "getitem",
                "setitem",
                "getslice",
                "setslice",
                "stepped",
                "find",
                "rfind",
                "move",
                "flush",
                "flush_range",
                "resize",
                "size",
                "len",
                "madvise",
            ]
        ),
        NUMBER,
        NUMBER,
        DATA,
    ),
    min_size=8,
    max_size=30,
)


def play(
    mapping_class: Any,
    path: Path,
    content: bytes,
    access: int,
    length: int,
    operations: list[tuple[str, int, int, bytes]],
) -> tuple[list[Any], bytes]:
    """Runs `operations` on `path` (holding `content`) mapped by
    `mapping_class`: what each did, then the file's bytes."""
    path.write_bytes(content)
    recorder = Recorder()
    flags = os.O_RDONLY if access == mmap.ACCESS_READ else os.O_RDWR
    fd = os.open(path, flags)
    try:
        m = recorder("open", lambda: mapping_class(fd, length, access=access))
        if m is not None:
            with m:
                for op, a, b, data in operations:
                    recorder(op, functools.partial(step(op, a, b, data), m))
                recorder("end", lambda: (m.tell(), len(m), m[:]))
    finally:
        os.close(fd)
    return recorder.log, path.read_bytes()


# A file of one to three pages and a bit, of a pattern with some new lines
# (hypothesis alone draws mostly tiny files).
CONTENT = st.builds(
    lambda size, pattern: (pattern * (size // len(pattern) + 1))[:size],
    st.sampled_from([1, 100, PAGE - 1, PAGE, PAGE + 100, 3 * PAGE + 5]),
    st.binary(min_size=1, max_size=40).map(lambda b: b + b"\n"),
)


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    content=CONTENT,
    access=st.sampled_from(ACCESS),
    length=st.sampled_from([0, 0, 1, PAGE, PAGE + 7]),  # 0: the whole file
    operations=OPERATIONS,
)
def test_any_sequence_of_operations_does_what_mmap_does(
    tmp_path: Path,
    content: bytes,
    access: int,
    length: int,
    operations: list[tuple[str, int, int, bytes]],
) -> None:
    expected = play(mmap.mmap, tmp_path / "mmap", content, access, length, operations)
    actual = play(
        ms.Mapping, tmp_path / "memshare", content, access, length, operations
    )
    steps = [entry[0] for entry in expected[0]]
    assert [entry[0] for entry in actual[0]] == steps
    for got, want in zip(actual[0], expected[0], strict=True):
        assert got == want, f"step {want[0]!r}"
    assert actual[1] == expected[1], "the bytes on disk"
