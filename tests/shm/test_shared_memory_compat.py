"""memshare.SharedMemory and ShareableList are drop-in replacements for those
of multiprocessing.shared_memory: each scenario runs against both, and every
step must return the same value or raise the same exception.  Where memshare
differs on purpose, a test of its own says so."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterator
from multiprocessing import resource_tracker
from multiprocessing import shared_memory as stdlib
from typing import Any, ClassVar

import pytest
from support import Recorder

import memshare as ms

Scenario = Callable[[Any, str, Recorder], None]


def forget(shm: stdlib.SharedMemory) -> None:
    """Keep the standard library's resource tracker from removing, or warning
    about, a block it did not create (the fault memshare fixes)."""
    resource_tracker.unregister(shm._name, "shared_memory")  # type: ignore[attr-defined]


class StdlibSharedMemory(stdlib.SharedMemory):
    """The standard library's SharedMemory, noting what its tracker holds, so
    that a test can leave the tracker as it found it."""

    registered: ClassVar[set[str]] = set()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.registered.add(self._name)  # type: ignore[attr-defined]

    def unlink(self) -> None:
        super().unlink()  # unregisters
        self.registered.discard(self._name)  # type: ignore[attr-defined]


StdlibSharedMemory.__name__ = "SharedMemory"  # for repr(); pickle uses __qualname__


# -- SharedMemory --------------------------------------------------------------------


def create_attach_and_pickle(cls: Any, name: str, rec: Recorder) -> None:
    shm = cls(name, create=True, size=100)
    rec("name", lambda: shm.name)
    rec("size", lambda: shm.size)
    rec("buf", lambda: (type(shm.buf).__name__, len(shm.buf), shm.buf.format))
    rec("buf readonly", lambda: shm.buf.readonly)
    rec("repr", lambda: repr(shm))
    shm.buf[:5] = b"hello"
    other = cls(name)
    rec("attached sees", lambda: bytes(other.buf[:5]))
    other.buf[5:10] = b"world"
    rec("creator sees", lambda: bytes(shm.buf[:10]))
    rec("attached size", lambda: other.size)
    rec("attach ignores size", lambda: cls(name, size=5000).size)
    copy = pickle.loads(pickle.dumps(shm))
    rec("pickled", lambda: (copy.name, copy.size, bytes(copy.buf[:10])))
    rec("pickled is attached", lambda: copy is not shm)
    for attached in (other, copy):
        attached.close()
    rec("close", shm.close)
    rec("buf after close", lambda: shm.buf)
    rec("close again", shm.close)
    rec("size after close", lambda: shm.size)
    rec("repr after close", lambda: repr(shm))
    rec("unlink", shm.unlink)
    rec("attach unlinked", lambda: cls(name))
    rec("unlink again", shm.unlink)


def close_with_a_view_out(cls: Any, name: str, rec: Recorder) -> None:
    shm = cls(name, create=True, size=64)
    view = shm.buf[10:20]
    rec("close with view", shm.close)
    view.release()
    rec("close after release", shm.close)
    shm.unlink()


def bad_arguments(cls: Any, name: str, rec: Recorder) -> None:
    rec("negative size", lambda: cls(name, create=True, size=-1))
    rec("zero size", lambda: cls(name, create=True, size=0))
    rec("no name", lambda: cls())
    rec("no name, no create", lambda: cls(None, False, 10))
    rec("attach missing", lambda: cls(name))
    shm = cls(name, create=True, size=10)
    rec("create existing", lambda: cls(name, create=True, size=10))
    rec("exists still", lambda: cls(name).size)
    shm.unlink()
    shm.close()


def random_names(cls: Any, name: str, rec: Recorder) -> None:
    shm = cls(create=True, size=10)
    rec("name is str", lambda: isinstance(shm.name, str))
    rec("attachable", lambda: cls(shm.name).size)
    other = cls(create=True, size=10)
    rec("unique", lambda: other.name != shm.name)
    for each in (shm, other):
        each.unlink()


SHARED_MEMORY_SCENARIOS: list[Scenario] = [
    create_attach_and_pickle,
    close_with_a_view_out,
    bad_arguments,
    random_names,
]


@pytest.fixture
def recorded(shm_name: str) -> Iterator[Callable[[Scenario, Any], list[Any]]]:
    def run(scenario: Scenario, cls: Any) -> list[Any]:
        recorder = Recorder()
        scenario(cls, shm_name, recorder)
        return recorder.log

    yield run
    for name in StdlibSharedMemory.registered:
        resource_tracker.unregister(name, "shared_memory")
    StdlibSharedMemory.registered.clear()


@pytest.mark.parametrize("scenario", SHARED_MEMORY_SCENARIOS, ids=lambda s: s.__name__)
def test_shared_memory_behaves_as_the_standard_librarys(
    scenario: Scenario, recorded: Callable[[Scenario, Any], list[Any]]
) -> None:
    expected = recorded(scenario, StdlibSharedMemory)
    actual = recorded(scenario, ms.SharedMemory)
    assert [step[0] for step in actual] == [step[0] for step in expected]
    for got, want in zip(actual, expected, strict=True):
        assert got == want, f"step {want[0]!r}"


# -- ShareableList --------------------------------------------------------------------

ITEMS = [
    1,
    -(2**63),
    2.5,
    True,
    False,
    None,
    "text",
    "é" * 3,
    b"bytes",
    b"",
    "",
    "a\x00",
]


def items_and_assignment(cls: Any, name: str, rec: Recorder) -> None:
    sl = cls(ITEMS, name=name)
    rec("len", lambda: len(sl))
    rec("items", lambda: list(sl))
    rec("negative index", lambda: sl[-1])
    rec("past the end", lambda: sl[len(ITEMS)])
    rec("format", lambda: sl.format)
    rec("repr", lambda: repr(sl).replace(name, "NAME"))
    for position, value in [(0, 7.5), (2, "short"), (6, None), (3, 10), (4, b"bin")]:
        rec(
            f"set {position}",
            lambda p=position, v=value: (sl.__setitem__(p, v), sl[p])[1],
        )
    rec("set too long", lambda: sl.__setitem__(6, "x" * 9))
    rec("set fitting", lambda: (sl.__setitem__(6, "x" * 8), sl[6])[1])
    rec("set unsupported", lambda: sl.__setitem__(0, [1]))
    rec("set past the end", lambda: sl.__setitem__(len(ITEMS), 1))
    rec("set too large an int", lambda: sl.__setitem__(0, 2**64))
    rec("count", lambda: sl.count(False))
    rec("index", lambda: sl.index(None))
    rec("index missing", lambda: sl.index("missing"))
    rec("format after", lambda: sl.format)
    copy = pickle.loads(pickle.dumps(sl))
    rec("pickled", lambda: list(copy))
    attached = cls(name=name)
    rec("attached", lambda: list(attached))
    rec("shm name", lambda: sl.shm.name == name)
    for each in (copy, attached, sl):
        each.shm.close()
    sl.shm.unlink()


def empty_and_unsupported(cls: Any, name: str, rec: Recorder) -> None:
    rec("unsupported", lambda: cls([1, [2]]))
    rec("unsupported dict", lambda: cls([{}]))
    sl = cls([], name=name)
    rec("empty", lambda: (len(sl), list(sl), sl.format))
    rec("empty index", lambda: sl[0])
    sl.shm.close()
    sl.shm.unlink()
    rec("generic", lambda: cls[int].__origin__ is cls)


SHAREABLE_LIST_SCENARIOS: list[Scenario] = [items_and_assignment, empty_and_unsupported]


@pytest.mark.parametrize("scenario", SHAREABLE_LIST_SCENARIOS, ids=lambda s: s.__name__)
def test_shareable_list_behaves_as_the_standard_librarys(
    scenario: Scenario, shm_name: str
) -> None:
    logs = []
    for cls in (stdlib.ShareableList, ms.ShareableList):
        recorder = Recorder()
        scenario(cls, shm_name, recorder)
        logs.append(recorder.log)
    expected, actual = logs
    assert [step[0] for step in actual] == [step[0] for step in expected]
    for got, want in zip(actual, expected, strict=True):
        assert got == want, f"step {want[0]!r}"


def test_lists_attach_across_the_two_implementations(shm_name: str) -> None:
    made_here = ms.ShareableList(ITEMS, name=shm_name)
    seen_by_stdlib = stdlib.ShareableList(name=shm_name)
    forget(seen_by_stdlib.shm)
    assert list(seen_by_stdlib) == list(made_here)
    seen_by_stdlib[0] = 42
    assert made_here[0] == 42
    seen_by_stdlib.shm.close()
    made_here.shm.close()
    made_here.shm.unlink()

    made_by_stdlib = stdlib.ShareableList(ITEMS)
    seen_here = ms.ShareableList(name=made_by_stdlib.shm.name)
    assert list(seen_here) == list(made_by_stdlib)
    seen_here[2] = "set here"
    assert made_by_stdlib[2] == "set here"
    seen_here.shm.close()
    made_by_stdlib.shm.close()
    made_by_stdlib.shm.unlink()


# -- where memshare differs, on purpose --------------------------------------------------


def test_strings_get_room_for_their_encoded_bytes(shm_name: str) -> None:
    emoji = "😀" * 3  # 3 characters, 12 bytes
    made_by_stdlib = stdlib.ShareableList([emoji])
    try:
        assert made_by_stdlib[0] != emoji  # cut to the 8 bytes it counted
    finally:
        made_by_stdlib.shm.close()
        made_by_stdlib.shm.unlink()
    sl = ms.ShareableList([emoji], name=shm_name)
    assert sl[0] == emoji
    sl[0] = "😀" * 3 + "abc"  # fits the 16 bytes it was given
    assert sl[0] == "😀😀😀abc"
    sl.shm.close()


def test_a_size_that_is_no_integer_leaves_nothing_behind(shm_name: str) -> None:
    with pytest.raises(TypeError):
        StdlibSharedMemory(shm_name, create=True, size=1.5)  # type: ignore[arg-type]
    # The standard library created the block before ftruncate() refused the
    # size, and its clean-up catches only OSError: the block stays.
    assert os.path.exists(f"/dev/shm/{shm_name}")
    ms.shm_unlink(shm_name)
    with pytest.raises(TypeError):
        ms.SharedMemory(shm_name, create=True, size=1.5)  # type: ignore[arg-type]
    assert not os.path.exists(f"/dev/shm/{shm_name}")


def test_an_index_before_the_start_is_out_of_range(shm_name: str) -> None:
    sl = ms.ShareableList([1, 2, 3], name=shm_name)
    # The standard library adds the length twice and reads past the data.
    with pytest.raises(IndexError, match="index out of range"):
        sl[-4]
    with pytest.raises(IndexError, match="assignment index out of range"):
        sl[-4] = 0
    sl.shm.close()


def test_an_unsupported_item_says_what_is_supported() -> None:
    with pytest.raises(
        TypeError, match="int, float, bool, str, bytes and None, not list"
    ):
        ms.ShareableList([[1]])


def test_a_leading_slash_is_optional(shm_name: str) -> None:
    shm = ms.SharedMemory("/" + shm_name, create=True, size=10)
    assert shm.name == shm_name  # the standard library would report "/" + name
    assert ms.SharedMemory(shm_name).size == ms.SharedMemory("/" + shm_name).size
    shm.close()


def test_attaching_never_removes_the_block(shm_name: str) -> None:
    shm = ms.SharedMemory(shm_name, create=True, size=10)
    attached = ms.SharedMemory(shm_name)
    attached.close()
    del attached
    assert os.path.exists(f"/dev/shm/{shm_name}")
    shm.close()


def test_context_manager_closes_and_the_creator_unlinks(shm_name: str) -> None:
    with ms.SharedMemory(shm_name, create=True, size=10) as shm:
        with ms.SharedMemory(shm_name) as attached:
            attached.buf[0] = 1
        assert attached.buf is None
        assert os.path.exists(f"/dev/shm/{shm_name}")  # an attacher only closes
        assert shm.buf[0] == 1
    assert shm.buf is None
    assert not os.path.exists(f"/dev/shm/{shm_name}")
    with ms.SharedMemory(shm_name, create=True, size=10) as shm:
        shm.unlink()  # early: leaving the block is still fine
    with (
        pytest.raises(BufferError),
        ms.SharedMemory(shm_name, create=True, size=10) as shm,
    ):
        view = memoryview(shm.mapping)  # noqa: F841 - still out when the block ends
    assert not os.path.exists(f"/dev/shm/{shm_name}")  # unlinked all the same
