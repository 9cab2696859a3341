"""The four kinds of mapping (private or shared, of a file or of anonymous
memory), seen from real child processes: what a write on one side does to
the other side, and to the file."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
import pytest
from support import START_METHODS

import memshare as ms

PAGE = ms.PAGESIZE
TIMEOUT = 60


def talk_to_parent(m: ms.Mapping, conn: Connection) -> None:
    """The child's side: report what it sees, write, and report again."""
    conn.send(m[:5])  # written by the parent before the child started
    m[10:15] = b"child"
    conn.send("written")
    conn.recv()  # the parent has written again
    conn.send(m[20:26])


def map_and_talk(path: str, mode: str, conn: Connection) -> None:
    talk_to_parent(ms.map_file(path, mode=mode), conn)


def converse(
    m: ms.Mapping, start: Callable[[Connection], multiprocessing.process.BaseProcess]
) -> tuple[bytes, bytes, bytes]:
    """Run the conversation with a child; return what the child saw before
    its write, what the parent sees of the child's write, and what the child
    saw of the parent's later write."""
    parent_end, child_end = multiprocessing.Pipe()
    m[:5] = b"hello"
    child = start(child_end)
    assert parent_end.poll(TIMEOUT), "the child did not answer"
    seen_by_child = parent_end.recv()
    assert parent_end.recv() == "written"
    seen_by_parent = m[10:15]
    m[20:26] = b"parent"
    parent_end.send("go")
    assert parent_end.poll(TIMEOUT), "the child did not answer"
    later_seen_by_child = parent_end.recv()
    child.join(TIMEOUT)
    assert child.exitcode == 0
    return seen_by_child, seen_by_parent, later_seen_by_child


def forked(
    m: ms.Mapping,
) -> Callable[[Connection], multiprocessing.process.BaseProcess]:
    def start(conn: Connection) -> multiprocessing.process.BaseProcess:
        process = multiprocessing.get_context("fork").Process(
            target=talk_to_parent, args=(m, conn)
        )
        process.start()
        return process

    return start


def mapping_the_file(
    path: Path, mode: str, method: str
) -> Callable[[Connection], multiprocessing.process.BaseProcess]:
    def start(conn: Connection) -> multiprocessing.process.BaseProcess:
        process = multiprocessing.get_context(method).Process(
            target=map_and_talk, args=(str(path), mode, conn)
        )
        process.start()
        return process

    return start


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.write_bytes(bytes(3 * PAGE))
    return path


def test_shared_anonymous_memory_is_shared_with_a_forked_child() -> None:
    m = ms.map_anonymous(2 * PAGE)
    assert m.kind == "shared anonymous"
    assert converse(m, forked(m)) == (b"hello", b"child", b"parent")


def test_private_anonymous_memory_is_copied_on_write_after_fork() -> None:
    m = ms.map_anonymous(2 * PAGE, shared=False)
    assert m.kind == "private anonymous"
    # The child starts with the parent's bytes; after that, each side's writes
    # stay its own.
    assert converse(m, forked(m)) == (b"hello", bytes(5), bytes(6))


def test_shared_file_mapping_writes_reach_the_file_and_a_forked_child(
    data_file: Path,
) -> None:
    m = ms.map_file(data_file)
    assert m.kind == "shared file"
    assert converse(m, forked(m)) == (b"hello", b"child", b"parent")
    content = data_file.read_bytes()  # plain read(): no msync needed to see it
    assert (content[:5], content[10:15], content[20:26]) == (
        b"hello",
        b"child",
        b"parent",
    )


def test_private_file_mapping_writes_never_reach_the_file(data_file: Path) -> None:
    data_file.write_bytes(b"original" + bytes(3 * PAGE - 8))
    m = ms.map_file(data_file, mode="c")
    assert m.kind == "private file"
    assert m[:8] == b"original"
    assert converse(m, forked(m)) == (b"hello", bytes(5), bytes(6))
    m.flush()
    m.sync()
    m.close()
    assert data_file.read_bytes()[:8] == b"original"


@pytest.mark.parametrize("method", START_METHODS)
def test_processes_mapping_one_file_share_their_writes(
    data_file: Path, method: str
) -> None:
    m = ms.map_file(data_file)
    start = mapping_the_file(data_file, "r+", method)
    assert converse(m, start) == (b"hello", b"child", b"parent")
    assert data_file.read_bytes()[10:15] == b"child"


@pytest.mark.parametrize("method", START_METHODS)
def test_a_copy_on_write_mapping_keeps_its_writes_from_other_processes(
    data_file: Path, method: str
) -> None:
    m = ms.map_file(data_file)
    start = mapping_the_file(data_file, "c", method)
    # The child's private mapping reads through to the file until it writes
    # a page; from then on it has a copy of that page, made before the
    # parent's second write.
    assert converse(m, start) == (b"hello", bytes(5), bytes(6))
    assert data_file.read_bytes()[10:15] == bytes(5)


def test_numpy_views_share_like_the_mapping() -> None:
    shared = ms.map_anonymous(PAGE)
    private = ms.map_anonymous(PAGE, shared=False)
    views = [m.view(np.int64) for m in (shared, private)]
    context = multiprocessing.get_context("fork")
    child = context.Process(target=np.copyto, args=(views[0], 7))
    child.start()
    child.join(TIMEOUT)
    child = context.Process(target=np.copyto, args=(views[1], 7))
    child.start()
    child.join(TIMEOUT)
    assert (views[0] == 7).all()
    assert (views[1] == 0).all()


@pytest.mark.parametrize("size", [1, PAGE - 1, PAGE, PAGE + 1])
def test_page_rounding(size: int, tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(bytes(range(256)) * (size // 256) + bytes(range(size % 256)))
    pages = -(-size // PAGE)
    for m in (
        ms.map_anonymous(size),
        ms.map_anonymous(size, shared=False),
        ms.map_file(path),
    ):
        assert len(m) == size
        assert len(m.residency()) == pages
        assert len(m.read()) == size
        m[size - 1] = 42
        assert m[-1] == 42
        with pytest.raises(IndexError):
            m[size]
        with pytest.raises(ValueError, match="data out of range"):
            m.write(b"x")  # the position is at the end
        assert m.view().shape == (size,)
        assert memoryview(m).nbytes == size
    assert path.read_bytes()[-1] == 42
    assert os.path.getsize(path) == size


@pytest.mark.parametrize("offset", [1, PAGE - 1, PAGE + 1, 3 * PAGE + 17])
@pytest.mark.parametrize("mode", ["r", "r+", "c"])
def test_offsets_off_page_boundaries(offset: int, mode: str, tmp_path: Path) -> None:
    path = tmp_path / "data"
    content = os.urandom(5 * PAGE)
    path.write_bytes(content)
    m = ms.map_file(path, 100, offset=offset, mode=mode)
    assert m.offset == offset
    assert m[:] == content[offset : offset + 100]
    assert len(m.residency()) == (offset % PAGE + 100 - 1) // PAGE + 1
    rest = ms.map_file(path, offset=offset, mode=mode)
    assert rest[:] == content[offset:]
    if mode == "r+":
        m[0:4] = b"EDIT"
        assert path.read_bytes()[offset : offset + 4] == b"EDIT"
    with open(path, "rb") as f:
        compatible = ms.Mapping(f.fileno(), 100, access=ms.ACCESS_READ, offset=offset)
    assert compatible[:] == path.read_bytes()[offset : offset + 100]


def test_w_plus_creates_the_file_at_offset_plus_size(tmp_path: Path) -> None:
    path = tmp_path / "new"
    m = ms.map_file(path, 1000, offset=10, mode="w+")
    assert os.path.getsize(path) == 1010
    m[:] = b"z" * 1000
    m.flush()
    assert path.read_bytes() == bytes(10) + b"z" * 1000


def test_resize_grows_the_file_and_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(b"abc" + bytes(PAGE - 3))
    m = ms.map_file(path, offset=1)
    m.resize(3 * PAGE)
    assert os.path.getsize(path) == 3 * PAGE + 1
    assert m[:2] == b"bc"
    m[-1] = 9
    assert path.read_bytes()[-1] == 9


def test_private_anonymous_memory_grows(tmp_path: Path) -> None:
    m = ms.map_anonymous(PAGE, shared=False)
    m[:4] = b"keep"
    m.resize(5 * PAGE)
    assert m[:4] == b"keep"
    m[-1] = 1  # the new pages are there to touch
    assert len(m.residency()) == 5
