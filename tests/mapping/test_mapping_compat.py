"""ms.Mapping is a drop-in replacement for mmap.mmap: each scenario here runs
against both, and every step must return the same value or raise the same
exception (type, and errno for OSError).  The few places where memshare
deliberately differs are tested one by one at the end."""

from __future__ import annotations

import mmap
import os
import pickle
import sys
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import Recorder

import memshare as ms

PAGE = mmap.PAGESIZE
Factory = Callable[..., Any]


def make_file(directory: Path, content: bytes, name: str = "data") -> Path:
    path = directory / name
    path.write_bytes(content)
    return path


CONTENT = b"hello\nworld\nmemory mapped\n" + bytes(range(256)) * 30


# -- scenarios: each takes the class under test and a private directory ---------


def anonymous_file_like(mm: Factory, directory: Path, rec: Recorder) -> None:
    m = mm(-1, 2 * PAGE)
    rec("write", lambda: m.write(b"abc\ndef\n"))
    rec("tell", m.tell)
    rec("seek 0", lambda: (m.seek(0), m.tell())[1])
    rec("readline", m.readline)
    rec("read 2", lambda: m.read(2))
    rec("read_byte", m.read_byte)
    rec("read None", lambda: len(m.read(None)))
    rec("read at end", lambda: m.read(5))
    rec("readline at end", m.readline)
    rec("read_byte at end", m.read_byte)
    rec("write_byte at end", lambda: m.write_byte(1))
    rec("write at end", lambda: m.write(b"x"))
    rec("seek relative", lambda: (m.seek(-3, 1), m.tell())[1])
    rec("seek from end", lambda: (m.seek(-10, 2), m.tell())[1])
    rec("seek before start", lambda: m.seek(-1))
    rec("seek past end", lambda: m.seek(2 * PAGE + 1))
    rec("seek to end", lambda: (m.seek(2 * PAGE), m.tell())[1])
    rec("seek bad whence", lambda: m.seek(0, 3))
    rec("seek huge", lambda: m.seek(2**70))
    rec("seek float", lambda: m.seek(1.5))
    rec("write_byte", lambda: (m.seek(0), m.write_byte(65), m[0])[2])
    rec("write_byte 256", lambda: m.write_byte(256))
    rec("write_byte -1", lambda: m.write_byte(-1))
    rec("write_byte bytes", lambda: m.write_byte(b"a"))
    rec("write str", lambda: m.write("abc"))
    rec("write bytearray", lambda: m.write(bytearray(b"xyz")))
    rec("write memoryview", lambda: m.write(memoryview(b"uvw")))
    rec("write too much", lambda: (m.seek(PAGE), m.write(b"z" * (PAGE + 1)))[1])
    rec("read negative", lambda: (m.seek(0), m.read(-5))[1][:8])
    rec("read str", lambda: m.read("x"))
    rec("read huge", lambda: m.read(2**70))
    rec("len", lambda: len(m))
    rec("closed", lambda: m.closed)


def anonymous_sequence(mm: Factory, directory: Path, rec: Recorder) -> None:
    m = mm(-1, PAGE)
    m.write(b"0123456789abcdef")
    rec("index", lambda: m[3])
    rec("negative index", lambda: m[-PAGE])
    rec("index past end", lambda: m[PAGE])
    rec("index before start", lambda: m[-PAGE - 1])
    rec("huge index", lambda: m[2**70])
    rec("str index", lambda: m["a"])
    rec("float index", lambda: m[1.0])
    rec("bool index", lambda: m[True])
    rec("slice", lambda: m[2:8])
    rec("slice step", lambda: m[1:12:3])
    rec("slice reversed", lambda: m[9:2:-2])
    rec("slice empty", lambda: m[8:2])
    rec("slice clipped", lambda: m[PAGE - 2 : PAGE + 10])
    rec("full slice", lambda: len(m[:]))
    rec("set index", lambda: (m.__setitem__(0, 255), m[0])[1])
    rec("set negative", lambda: (m.__setitem__(-1, 7), m[PAGE - 1])[1])
    rec("set 256", lambda: m.__setitem__(0, 256))
    rec("set -1", lambda: m.__setitem__(0, -1))
    rec("set bytes to index", lambda: m.__setitem__(0, b"a"))
    rec("set index past end", lambda: m.__setitem__(PAGE, 1))
    rec("set slice", lambda: (m.__setitem__(slice(0, 3), b"XYZ"), m[:3])[1])
    rec("set slice step", lambda: (m.__setitem__(slice(0, 6, 2), b"abc"), m[:6])[1])
    rec(
        "set slice reversed", lambda: (m.__setitem__(slice(5, 2, -1), b"qrs"), m[:6])[1]
    )
    rec("set slice wrong size", lambda: m.__setitem__(slice(0, 2), b"a"))
    rec("set slice str", lambda: m.__setitem__(slice(0, 2), "ab"))
    rec("set slice list", lambda: m.__setitem__(slice(0, 2), [1, 2]))
    rec("set slice empty", lambda: m.__setitem__(slice(4, 4), b""))
    rec("set str key", lambda: m.__setitem__("a", 1))
    rec("del index", lambda: m.__delitem__(0))
    rec("del slice", lambda: m.__delitem__(slice(0, 1)))
    rec("iterate", lambda: list(m)[:5])
    rec("reversed", lambda: list(reversed(m))[:2])
    rec("contains bytes", lambda: b"Z" in m)
    rec("contains missing", lambda: b"\xfe" in m)
    rec("contains int", lambda: 65 in m)
    rec("contains two bytes", lambda: b"YZ" in m)
    rec("bytes()", lambda: bytes(m)[:6])
    rec("memoryview", lambda: memoryview(m)[:4])


def anonymous_find(mm: Factory, directory: Path, rec: Recorder) -> None:
    m = mm(-1, PAGE)
    m.write(b"abcabcabc" + b"\x00" * 10 + b"abc")
    m.seek(1)
    rec("find from pos", lambda: m.find(b"abc"))
    rec("find start", lambda: m.find(b"abc", 0))
    rec("find start end", lambda: m.find(b"abc", 2, 7))
    rec("find negative start", lambda: m.find(b"abc", -PAGE))
    rec("find negative end", lambda: m.find(b"abc", 0, -1))
    rec("find missing", lambda: m.find(b"xyz"))
    rec("find empty", lambda: m.find(b"", 5))
    rec("find empty past end", lambda: m.find(b"", PAGE + 10))
    rec("find empty start>end", lambda: m.find(b"", 10, 5))
    rec("find str", lambda: m.find("abc"))
    rec("find bytearray", lambda: m.find(bytearray(b"cab")))
    rec("rfind", lambda: m.rfind(b"abc"))
    rec("rfind start end", lambda: m.rfind(b"abc", 0, 8))
    rec("rfind empty", lambda: m.rfind(b"", 3, 9))
    rec("rfind missing", lambda: m.rfind(b"q"))


def anonymous_move_flush_madvise(mm: Factory, directory: Path, rec: Recorder) -> None:
    m = mm(-1, 2 * PAGE)
    m.write(b"0123456789")
    rec("move", lambda: (m.move(2, 0, 5), m[:10])[1])
    rec("move overlap back", lambda: (m.move(0, 3, 5), m[:10])[1])
    rec("move out of range", lambda: m.move(0, 1, 2 * PAGE))
    rec("move negative", lambda: m.move(-1, 0, 1))
    rec("move zero", lambda: m.move(0, 0, 0))
    rec("flush", m.flush)
    rec("flush page", lambda: m.flush(PAGE, PAGE))
    rec("flush zero at end", lambda: m.flush(2 * PAGE, 0))
    rec("flush out of range", lambda: m.flush(0, 3 * PAGE))
    rec("flush negative", lambda: m.flush(-PAGE, PAGE))
    rec("madvise", lambda: m.madvise(mmap.MADV_NORMAL))
    rec("madvise page", lambda: m.madvise(mmap.MADV_WILLNEED, PAGE))
    rec("madvise length past end", lambda: m.madvise(mmap.MADV_NORMAL, 0, 10 * PAGE))
    rec("madvise start past end", lambda: m.madvise(mmap.MADV_NORMAL, 2 * PAGE))
    rec("madvise negative start", lambda: m.madvise(mmap.MADV_NORMAL, -1))
    rec("madvise negative length", lambda: m.madvise(mmap.MADV_NORMAL, 0, -1))
    rec("madvise huge length", lambda: m.madvise(mmap.MADV_NORMAL, 1, sys.maxsize))
    rec("madvise unknown", lambda: m.madvise(999))
    rec("madvise dontneed", lambda: (m.madvise(mmap.MADV_DONTNEED), m[:4])[1])


def closed_mapping(mm: Factory, directory: Path, rec: Recorder) -> None:
    m = mm(-1, PAGE)
    rec("close", m.close)
    rec("closed", lambda: m.closed)
    rec("close again", m.close)
    for name, step in {
        "len": lambda: len(m),
        "read": lambda: m.read(1),
        "read_byte": m.read_byte,
        "readline": m.readline,
        "write": lambda: m.write(b"a"),
        "write_byte": lambda: m.write_byte(1),
        "tell": m.tell,
        "seek": lambda: m.seek(0),
        "size": m.size,
        "find": lambda: m.find(b"a"),
        "rfind": lambda: m.rfind(b"a"),
        "flush": m.flush,
        "madvise": lambda: m.madvise(mmap.MADV_NORMAL),
        "move": lambda: m.move(0, 0, 1),
        "resize": lambda: m.resize(10),
        "index": lambda: m[0],
        "slice": lambda: m[0:1],
        "set index": lambda: m.__setitem__(0, 1),
        "iterate": lambda: list(m),
        "contains": lambda: b"a" in m,
        "contains int": lambda: 1 in m,
        "memoryview": lambda: memoryview(m),
        "enter": m.__enter__,
        # The closed mapping is refused before the arguments are looked at.
        "read bad": lambda: m.read("x"),
        "write bad": lambda: m.write(1),
        "write_byte bad": lambda: m.write_byte("x"),
        "seek bad": lambda: m.seek("x"),
        "find bad": lambda: m.find(1),
        "find bad start": lambda: m.find(b"a", "x"),
        "flush bad": lambda: m.flush("x"),
        "madvise bad": lambda: m.madvise(1.5),
        "move bad": lambda: m.move(0, 0, "x"),
        "resize bad": lambda: m.resize("x"),
    }.items():
        rec(name, step)


def arguments_as_mmap_takes_them(mm: Factory, directory: Path, rec: Recorder) -> None:
    m = mm(-1, PAGE)
    m.write(b"abcabc")
    for name, step in {
        "find None": lambda: m.find(b"b", None),
        "find end None": lambda: m.find(b"b", 0, None),
        "rfind None": lambda: m.rfind(b"b", None, None),
        "flush size None": lambda: m.flush(0, None),
        "madvise length None": lambda: m.madvise(mmap.MADV_NORMAL, 0, None),
        "read None": lambda: m.read(None),
        "find keyword": lambda: m.find(sub=b"a"),
        "read keyword": lambda: m.read(n=1),
        "write keyword": lambda: m.write(bytes=b"a"),
        "seek keyword": lambda: m.seek(pos=0),
        "flush keyword": lambda: m.flush(offset=0),
        "madvise keyword": lambda: m.madvise(option=mmap.MADV_NORMAL),
        "move keyword": lambda: m.move(dest=0, src=1, count=1),
        "resize keyword": lambda: m.resize(newsize=PAGE),
        "readline argument": lambda: m.readline(1),
        "tell argument": lambda: m.tell(1),
    }.items():
        rec(name, step)


def position_past_a_shrunk_end(mm: Factory, directory: Path, rec: Recorder) -> None:
    path = make_file(directory, CONTENT * 2)
    with open(path, "r+b") as file:
        m = mm(file.fileno(), 0)
        # seek() returns the position from 3.13 on, None before: tell() says.
        rec("seek", lambda: (m.seek(len(CONTENT) + 100), m.tell())[1])
        rec("shrink below it", lambda: m.resize(len(CONTENT)))
        for name, step in {
            "tell": m.tell,
            "read": m.read,
            "read 5": lambda: m.read(5),
            "readline": m.readline,
            "read_byte": m.read_byte,
            "write": lambda: m.write(b"a"),
            "write_byte": lambda: m.write_byte(1),
            "find": lambda: m.find(b"a"),
            "rfind": lambda: m.rfind(b"\n"),
            "seek relative": lambda: (m.seek(0, 1), m.tell())[1],
            "seek back": lambda: (m.seek(-200, 1), m.tell())[1],
            "tell again": m.tell,
        }.items():
            rec(name, step)
        rec(
            "a failed write leaves the position",
            lambda: (m.seek(-3, 2), m.write(b"1234"), m.tell()),
        )
        rec("tell after", m.tell)
        m.close()


def subclasses(mm: Factory, directory: Path, rec: Recorder) -> None:
    class Anonymous(mm):  # type: ignore[misc, valid-type]
        # As CPython's test_mmap.test_subclass: __new__ with other arguments.
        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            return mm.__new__(cls, -1, *args, **kwargs)

    class Own(mm):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any) -> None:  # the base's not called
            self.note = "own"

    rec("new with other arguments", lambda: len(Anonymous(PAGE)))
    rec("isinstance", lambda: isinstance(Anonymous(PAGE), mm))
    rec("own init", lambda: (m := Own(-1, PAGE), m.note, len(m))[1:])
    rec("repr", lambda: repr(Own(-1, 10)))
    rec("repr closed", lambda: (m := Own(-1, 10), m.close(), repr(m))[2])


def exports(mm: Factory, directory: Path, rec: Recorder) -> None:
    m = mm(-1, PAGE)
    view = memoryview(m)
    rec("view", lambda: (view.readonly, view.format, view.itemsize, view.nbytes))
    rec("write through view", lambda: (view.__setitem__(0, 9), m[0])[1])
    rec("close exported", m.close)
    rec("resize exported", lambda: m.resize(PAGE // 2))
    rec("still open", lambda: m.closed)
    view.release()
    second = memoryview(m)
    third = second[10:20]
    second.release()
    rec("close with sliced view", m.close)
    third.release()
    rec("close released", m.close)


def context_manager(mm: Factory, directory: Path, rec: Recorder) -> None:
    with mm(-1, PAGE) as m:
        rec("inside", lambda: m.closed)
        m.write(b"x")
    rec("after", lambda: m.closed)


def file_shared(mm: Factory, directory: Path, rec: Recorder) -> None:
    path = make_file(directory, CONTENT)
    with open(path, "r+b") as f:
        m = mm(f.fileno(), 0)
    rec("len", lambda: len(m))
    rec("size", m.size)
    rec("read", lambda: m.read(12))
    rec("readline", m.readline)
    rec("find", lambda: m.find(b"mapped"))
    m[0:5] = b"HELLO"
    rec("flush", m.flush)
    rec("file sees write", lambda: path.read_bytes()[:12])
    rec("resize grow", lambda: m.resize(len(CONTENT) + 100))
    rec("file grew", lambda: os.path.getsize(path))
    rec("len after grow", lambda: len(m))
    rec("resize shrink", lambda: m.resize(100))
    rec("file shrank", lambda: os.path.getsize(path))
    rec("resize negative", lambda: m.resize(-1))
    m.close()


def file_offsets_and_lengths(mm: Factory, directory: Path, rec: Recorder) -> None:
    content = bytes(range(256)) * 40  # 10240 bytes: two pages and a half
    path = make_file(directory, content)
    fd = os.open(path, os.O_RDWR)
    try:
        rec("offset page", lambda: mm(fd, 0, offset=PAGE)[:4])
        rec("offset page length", lambda: len(mm(fd, 100, offset=PAGE)))
        rec("offset at size", lambda: mm(fd, 0, offset=len(content)))
        rec("offset past size", lambda: mm(fd, 0, offset=3 * PAGE))
        rec("length past size", lambda: mm(fd, len(content) + 1))
        rec("length past size with offset", lambda: mm(fd, len(content), offset=PAGE))
        rec("exact length", lambda: len(mm(fd, len(content))))
        rec("negative length", lambda: mm(fd, -1))
        rec("negative offset", lambda: mm(fd, 0, offset=-PAGE))
        rec("huge length", lambda: mm(fd, 2**63))
        rec("float length", lambda: mm(fd, 1.5))
        rec("str fd", lambda: mm("3", 10))
    finally:
        os.close(fd)


def file_access_modes(mm: Factory, directory: Path, rec: Recorder) -> None:
    path = make_file(directory, CONTENT)
    fd = os.open(path, os.O_RDWR)
    try:
        for name, access in [
            ("read", mmap.ACCESS_READ),
            ("write", mmap.ACCESS_WRITE),
            ("copy", mmap.ACCESS_COPY),
        ]:
            m = mm(fd, 0, access=access)
            rec(f"{name} write", lambda m=m: m.write(b"WRITE"))
            rec(f"{name} set", lambda m=m: m.__setitem__(10, 65))
            rec(f"{name} set slice", lambda m=m: m.__setitem__(slice(0, 2), b"ab"))
            rec(f"{name} write_byte", lambda m=m: m.write_byte(66))
            rec(f"{name} move", lambda m=m: m.move(0, 1, 2))
            rec(f"{name} flush", m.flush)
            rec(f"{name} resize", lambda m=m: m.resize(100))
            rec(f"{name} view", lambda m=m: memoryview(m).readonly)
            rec(f"{name} content", lambda m=m: m[:12])
            rec(f"{name} file", lambda: path.read_bytes()[:12])
            rec(f"{name} close", m.close)
        rec("access with flags", lambda: mm(fd, 0, flags=mmap.MAP_PRIVATE, access=1))
        rec("access with prot", lambda: mm(fd, 0, prot=mmap.PROT_READ, access=1))
        rec("bad access", lambda: mm(fd, 0, access=9))
        rec("negative access", lambda: mm(fd, 0, access=-1))
        rec(
            "private flags write", lambda: mm(fd, 0, flags=mmap.MAP_PRIVATE).write(b"p")
        )
        rec("file after private", lambda: path.read_bytes()[:12])
        rec("prot read write", lambda: mm(fd, 0, prot=mmap.PROT_READ).write(b"r"))
        rec("prot read resize", lambda: mm(fd, 0, prot=mmap.PROT_READ).resize(10))
    finally:
        os.close(fd)


def bad_descriptors(mm: Factory, directory: Path, rec: Recorder) -> None:
    path = make_file(directory, CONTENT)
    empty = make_file(directory, b"", "empty")
    closed_fd = os.open(path, os.O_RDONLY)
    os.close(closed_fd)
    rec("closed fd", lambda: mm(closed_fd, 10))
    rec("unknown fd", lambda: mm(9999, 10))
    rec("fd -2", lambda: mm(-2, 10))
    descriptors = {
        "read-only": os.open(path, os.O_RDONLY),
        "write-only": os.open(path, os.O_WRONLY),
        "empty": os.open(empty, os.O_RDWR),
        "directory": os.open(directory, os.O_RDONLY),
        "devnull": os.open(os.devnull, os.O_RDWR),
    }
    try:
        ro = descriptors["read-only"]
        rec("read-only fd shared write", lambda: mm(ro, 0))
        rec("read-only fd ACCESS_READ", lambda: len(mm(ro, 0, access=mmap.ACCESS_READ)))
        rec("read-only fd ACCESS_COPY", lambda: len(mm(ro, 0, access=mmap.ACCESS_COPY)))
        rec("read-only fd ACCESS_WRITE", lambda: mm(ro, 0, access=mmap.ACCESS_WRITE))
        rec("write-only fd", lambda: mm(descriptors["write-only"], 0))
        rec("empty file", lambda: mm(descriptors["empty"], 0))
        rec("empty file length", lambda: mm(descriptors["empty"], 10))
        rec("directory", lambda: mm(descriptors["directory"], 10))
        rec("/dev/null", lambda: mm(descriptors["devnull"], 10))
        read_end, write_end = os.pipe()
        descriptors.update(pipe_read=read_end, pipe_write=write_end)
        rec("pipe", lambda: mm(read_end, 10))
    finally:
        for fd in descriptors.values():
            os.close(fd)


def anonymous_constructor(mm: Factory, directory: Path, rec: Recorder) -> None:
    rec("zero length", lambda: mm(-1, 0))
    rec("negative length", lambda: mm(-1, -1))
    rec("huge length", lambda: mm(-1, 2**63))
    rec("too large", lambda: mm(-1, 2**62))
    rec("float length", lambda: mm(-1, 1.5))
    rec("no flags", lambda: mm(-1, 10, flags=0))
    rec("private", lambda: len(mm(-1, 10, flags=mmap.MAP_PRIVATE)))
    rec("keywords", lambda: len(mm(fileno=-1, length=10, offset=0)))
    rec("prot read", lambda: mm(-1, 10, prot=mmap.PROT_READ).write(b"x"))
    rec("prot write", lambda: mm(-1, 10, prot=mmap.PROT_WRITE).write(b"x"))
    rec("access read", lambda: mm(-1, 10, access=mmap.ACCESS_READ)[:2])
    rec("access copy resize", lambda: mm(-1, 10, access=mmap.ACCESS_COPY).resize(5))
    rec(
        "private resize", lambda: len((m := mm(-1, 10, flags=2), m.resize(PAGE * 3))[0])
    )
    rec("shrink shared", lambda: len((m := mm(-1, 2 * PAGE), m.resize(10))[0]))
    rec("pickle", lambda: pickle.dumps(mm(-1, 10)))
    rec("weakref", lambda: weakref.ref(m := mm(-1, 10))() is m)
    rec("hash", lambda: isinstance(hash(mm(-1, 10)), int))
    rec("equal", lambda: mm(-1, 10) == mm(-1, 10))
    rec("subclass", lambda: len(type("Sub", (mm,), {})(-1, 10)))
    rec("init again", lambda: (m := mm(-1, 10), m.__init__(-1, 20), len(m))[2])
    rec("copy", lambda: __import__("copy").copy(mm(-1, 10)))


SCENARIOS = [
    anonymous_file_like,
    anonymous_sequence,
    anonymous_find,
    anonymous_move_flush_madvise,
    closed_mapping,
    arguments_as_mmap_takes_them,
    position_past_a_shrunk_end,
    subclasses,
    exports,
    context_manager,
    file_shared,
    file_offsets_and_lengths,
    file_access_modes,
    bad_descriptors,
    anonymous_constructor,
]


def run(scenario: Callable[..., None], mm: Factory, directory: Path) -> list[Any]:
    directory.mkdir()
    recorder = Recorder()
    scenario(mm, directory, recorder)
    return recorder.log


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_same_behaviour_as_mmap(scenario: Callable[..., None], tmp_path: Path) -> None:
    expected = run(scenario, mmap.mmap, tmp_path / "mmap")
    actual = run(scenario, ms.Mapping, tmp_path / "memshare")
    assert [step[0] for step in actual] == [step[0] for step in expected]
    for got, want in zip(actual, expected, strict=True):
        assert got == want, f"step {want[0]!r}"


# -- the same results for any input --------------------------------------------------

CONTENT_STRATEGY = st.binary(min_size=1, max_size=3 * PAGE)
INDEX = st.integers(min_value=-4 * PAGE, max_value=4 * PAGE)


def both(content: bytes) -> tuple[mmap.mmap, ms.Mapping]:
    pair = (mmap.mmap(-1, len(content)), ms.Mapping(-1, len(content)))
    for m in pair:
        m[:] = content
    return pair


@settings(max_examples=300, deadline=None)
@given(
    content=CONTENT_STRATEGY,
    needle=st.binary(max_size=4),
    start=st.none() | INDEX,
    end=st.none() | INDEX,
)
def test_find_and_rfind(content: bytes, needle: bytes, start: int, end: int) -> None:
    expected, actual = both(content)
    for method in ("find", "rfind"):
        args = [] if start is None else [start] if end is None else [start, end]
        assert getattr(actual, method)(needle, *args) == getattr(expected, method)(
            needle, *args
        )


@settings(max_examples=300, deadline=None)
@given(
    content=CONTENT_STRATEGY,
    start=st.none() | INDEX,
    stop=st.none() | INDEX,
    step=st.none() | st.integers(-9, 9).filter(bool),
)
def test_slices(content: bytes, start: int, stop: int, step: int) -> None:
    expected, actual = both(content)
    key = slice(start, stop, step)
    assert actual[key] == expected[key] == content[key]
    replacement = bytes(reversed(expected[key]))
    expected[key] = replacement
    actual[key] = replacement
    assert actual[:] == expected[:]


@settings(max_examples=200, deadline=None)
@given(
    content=CONTENT_STRATEGY,
    moves=st.lists(
        st.tuples(st.sampled_from(["seek", "read", "readline", "write"]), INDEX),
        max_size=8,
    ),
)
def test_position(content: bytes, moves: list[tuple[str, int]]) -> None:
    expected, actual = both(content)
    for operation, value in moves:
        outcomes = []
        for m in (expected, actual):
            recorder = Recorder()
            step = {
                "seek": lambda m=m, n=value: m.seek(n, abs(n) % 3),
                "read": lambda m=m, n=value: m.read(n),
                "readline": m.readline,
                "write": lambda m=m, n=value: m.write(b"w" * (abs(n) % 7)),
            }[operation]
            # mmap.seek() returns None before Python 3.13, memshare the position.
            recorder(operation, lambda step=step, m=m: (step(), m.tell())[1:])
            outcomes.append(recorder.log)
        assert outcomes[0] == outcomes[1]
    assert actual[:] == expected[:]


# -- where memshare differs, on purpose -------------------------------------------------


def test_seek_returns_the_position_as_in_python_3_13() -> None:
    m = ms.Mapping(-1, PAGE)
    assert m.seek(10) == 10
    assert m.seek(-4, 1) == 6
    assert m.seek(-1, 2) == PAGE - 1
    assert m.seekable() is True


def test_any_offset_is_accepted(tmp_path: Path) -> None:
    path = make_file(tmp_path, CONTENT)
    with open(path, "rb") as f:
        with pytest.raises(OSError, match="Invalid argument"):
            mmap.mmap(f.fileno(), 10, access=mmap.ACCESS_READ, offset=3)
        m = ms.Mapping(f.fileno(), 10, access=ms.ACCESS_READ, offset=3)
    assert m[:] == CONTENT[3:13]
    assert m.offset == 3


def test_flush_and_madvise_take_ranges_off_page_boundaries() -> None:
    expected, actual = mmap.mmap(-1, 2 * PAGE), ms.Mapping(-1, 2 * PAGE)
    with pytest.raises(OSError, match="Invalid argument"):
        expected.flush(1, 10)
    with pytest.raises(OSError, match="Invalid argument"):
        expected.madvise(mmap.MADV_WILLNEED, 1, 10)
    actual.flush(1, 10)
    actual.madvise(ms.MADV_WILLNEED, 1, 10)


def test_growing_shared_anonymous_memory_is_refused() -> None:
    # mmap.mmap grows the mapping but not the memory behind it, and touching
    # the new pages kills the process with SIGBUS (CPython gh-110243).
    m = ms.Mapping(-1, PAGE)
    with pytest.raises(ValueError, match="shared anonymous"):
        m.resize(2 * PAGE)
    m.resize(PAGE // 2)
    assert len(m) == PAGE // 2


def test_resize_to_zero_is_refused_before_the_file_is_cut(tmp_path: Path) -> None:
    for mm, name in ((mmap.mmap, "stdlib"), (ms.Mapping, "memshare")):
        path = make_file(tmp_path, CONTENT, name)
        with open(path, "r+b") as f:
            m = mm(f.fileno(), 0)
        with pytest.raises(OSError, match="Invalid argument"):
            m.resize(0)
        m.close()
        # The stdlib truncates the file before mremap() refuses; memshare
        # refuses first and loses nothing.
        assert path.read_bytes() == (b"" if mm is mmap.mmap else CONTENT)


def test_unknown_protection_bits_are_refused() -> None:
    assert len(mmap.mmap(-1, 10, prot=999)) == 10  # the stdlib passes them on
    with pytest.raises(OSError, match="unknown PROT_ bits") as error:
        ms.Mapping(-1, 10, prot=999)
    assert error.value.errno == 22


def test_trackfd(tmp_path: Path) -> None:
    path = make_file(tmp_path, CONTENT)
    fd = os.open(path, os.O_RDWR)
    try:
        m = ms.Mapping(fd, 0, trackfd=False)
        assert m.fileno() == -1
        assert m[:5] == CONTENT[:5]
        with pytest.raises(OSError, match="trackfd=False"):
            m.size()
        with pytest.raises(ValueError, match="trackfd=False"):
            m.resize(10)  # as mmap.mmap from 3.13, anonymous memory too
        with pytest.raises(ValueError, match="trackfd=False"):
            ms.Mapping(-1, 2 * PAGE, trackfd=False).resize(PAGE)
        tracked = ms.Mapping(fd, 0)
        assert tracked.fileno() not in (-1, fd)
        assert tracked.size() == len(CONTENT)
    finally:
        os.close(fd)
