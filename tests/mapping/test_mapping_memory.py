"""The calls beyond mmap.mmap: mprotect, msync, madvise, mlock, mincore and
populate, each checked against what the kernel reports, and each unable to
let Python code fault.  Steps that would kill the process if memshare got
them wrong run in a forked child (support.in_child)."""

from __future__ import annotations

import errno
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import dirty_kib, in_child, maps_line

import memshare as ms

PAGE = ms.PAGESIZE
RW = ms.PROT_READ | ms.PROT_WRITE


def filesystem_of(path: Path) -> str:
    """The type of the filesystem holding `path`, from /proc/self/mounts."""
    best, kind = "", ""
    with open("/proc/self/mounts") as mounts:
        for line in mounts:
            _, mount_point, fs_type = line.split()[:3]
            inside = str(path.resolve()).startswith(mount_point.rstrip("/") + "/")
            if inside and len(mount_point) > len(best):
                best, kind = mount_point, fs_type
    return kind


# -- mprotect ------------------------------------------------------------------------


def test_read_only_pages_refuse_writes_with_an_exception() -> None:
    m = ms.map_anonymous(2 * PAGE)
    m[:3] = b"abc"
    m.protect(ms.PROT_READ)
    assert m.prot == ms.PROT_READ

    def attempt_writes() -> list[str]:
        refused = []
        for write in (
            lambda: m.__setitem__(0, 1),
            lambda: m.__setitem__(slice(0, 2), b"zz"),
            lambda: m.write(b"x"),
            lambda: m.write_byte(1),
            lambda: m.move(0, 1, 1),
            lambda: m.populate(write=True),
        ):
            with pytest.raises(TypeError, match="not writable"):
                write()
            refused.append("refused")
        return refused

    assert in_child(attempt_writes) == ["refused"] * 6
    assert m[:3] == b"abc"
    assert memoryview(m).readonly
    assert not m.view().flags.writeable
    m.protect(RW)
    m[0] = ord("A")
    assert m[:3] == b"Abc"
    assert not memoryview(m).readonly


def test_inaccessible_pages_refuse_every_access() -> None:
    m = ms.map_anonymous(3 * PAGE)
    m.protect(ms.PROT_NONE, PAGE, PAGE)
    assert m.prot == ms.PROT_NONE

    def attempt_reads() -> int:
        for read in (
            lambda: m[PAGE],
            lambda: m[PAGE - 1 : PAGE + 1],
            lambda: m.find(b"x"),
            lambda: m.read(),
            lambda: m.populate(),
        ):
            with pytest.raises(TypeError, match="PROT_NONE"):
                read()
        for export in (lambda: memoryview(m), lambda: m.view(), lambda: bytes(m)):
            with pytest.raises(BufferError):
                export()
        return m[0] + m[2 * PAGE]  # the pages around it are fine

    assert in_child(attempt_reads) == 0
    assert len(m.residency()) == 3  # mincore needs no access
    m.protect(RW, PAGE, PAGE)
    assert m[PAGE] == 0


def test_a_mapping_made_inaccessible_exports_nothing() -> None:
    for m in (
        ms.map_anonymous(PAGE, prot=ms.PROT_NONE),
        ms.Mapping(-1, PAGE, prot=ms.PROT_NONE),  # mmap.mmap would fault on a read
    ):
        assert m.prot == ms.PROT_NONE

        def attempt(m: ms.Mapping = m) -> str:
            with pytest.raises(TypeError, match="PROT_NONE"):
                m[0]
            with pytest.raises(TypeError, match="PROT_NONE"):
                m.read(1)
            with pytest.raises(BufferError, match="PROT_NONE"):
                memoryview(m)
            return "refused"

        assert in_child(attempt) == "refused"
        m.protect(ms.PROT_READ)
        assert m[0] == 0


def test_protect_splits_and_joins_page_ranges() -> None:
    m = ms.map_anonymous(4 * PAGE)
    m.protect(ms.PROT_READ, PAGE, 2 * PAGE)
    m[0] = 1
    m[3 * PAGE] = 1
    with pytest.raises(TypeError):
        m[2 * PAGE] = 1
    assert m.prot == ms.PROT_READ  # what every page allows
    assert maps_line(m.address + PAGE).split()[1] == "r--s"
    assert maps_line(m.address).split()[1] == "rw-s"
    m.protect(RW, PAGE, PAGE)
    m[PAGE] = 1
    with pytest.raises(TypeError):
        m[2 * PAGE] = 1
    m.protect(RW)
    m[2 * PAGE] = 1
    assert m.prot == RW


PERMISSIONS = {ms.PROT_NONE: "---", ms.PROT_READ: "r--", RW: "rw-"}


def test_protection_follows_any_sequence_of_protect_calls() -> None:
    pages = 8

    @settings(max_examples=150, deadline=None)
    @given(
        st.lists(
            st.tuples(
                st.integers(0, pages - 1),
                st.integers(1, pages),
                st.sampled_from(list(PERMISSIONS)),
            ),
            max_size=10,
        )
    )
    def check(changes: list[tuple[int, int, int]]) -> None:
        m = ms.map_anonymous(pages * PAGE, shared=False)
        model = [RW] * pages
        for first, count, prot in changes:
            count = min(count, pages - first)
            m.protect(prot, first * PAGE, count * PAGE)
            model[first : first + count] = [prot] * count
            for page, expected in enumerate(model):
                address = m.address + page * PAGE
                assert maps_line(address).split()[1][:3] == PERMISSIONS[expected]
                readable = expected != ms.PROT_NONE
                try:
                    m[page * PAGE] = 1
                    written = True
                except TypeError:
                    written = False
                assert written == (expected == RW)
                try:
                    m[page * PAGE]
                    read = True
                except TypeError:
                    read = False
                assert read == readable
            common = RW
            for prot in model:
                common &= prot
            assert m.prot == common
        m.close()

    in_child(check)  # a wrong answer here would fault: keep it in a child


def test_protect_needs_whole_pages() -> None:
    m = ms.map_anonymous(3 * PAGE)
    with pytest.raises(OSError, match="whole pages") as error:
        m.protect(ms.PROT_READ, 100, 50)
    assert error.value.errno == errno.EINVAL
    assert f"[0, {PAGE})" in str(error.value)
    m.protect(ms.PROT_READ, PAGE, 2 * PAGE)  # to the end of the mapping
    m.protect(RW, 0, PAGE)
    m[0] = 1


def test_protect_of_a_mapping_that_starts_inside_a_page(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(bytes(4 * PAGE))
    m = ms.map_file(path, 2 * PAGE, offset=100)
    with pytest.raises(OSError, match="whole pages"):
        m.protect(ms.PROT_READ, 0, PAGE)  # would reach 100 bytes past the range
    m.protect(ms.PROT_READ, PAGE - 100)  # from a page boundary to the end
    m[0] = 1
    with pytest.raises(TypeError):
        m[PAGE - 100] = 1


def test_protect_keeps_exported_buffers_safe() -> None:
    m = ms.map_anonymous(PAGE)
    array = m.view()
    with pytest.raises(BufferError, match="PROT_WRITE"):
        m.protect(ms.PROT_READ)
    del array
    m.protect(ms.PROT_READ)
    reader = memoryview(m)
    assert reader.readonly
    with pytest.raises(BufferError, match="inaccessible"):
        m.protect(ms.PROT_NONE)
    reader.release()
    m.protect(ms.PROT_NONE)


def test_a_read_only_mapping_stays_read_only(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(bytes(PAGE))
    m = ms.map_file(path, mode="r")
    with pytest.raises(TypeError, match="readonly"):
        m.protect(RW)
    assert memoryview(m).readonly
    with pytest.raises(ValueError, match="read-only"):
        m.view()[0] = 1


def test_protect_refuses_unknown_bits() -> None:
    with pytest.raises(OSError, match="unknown PROT_ bits 0x10") as error:
        ms.map_anonymous(PAGE).protect(0x10 | ms.PROT_READ)
    assert error.value.errno == errno.EINVAL


# -- msync --------------------------------------------------------------------------


@pytest.fixture
def disk_file(tmp_path: Path) -> Path:
    if filesystem_of(tmp_path) in ("tmpfs", "ramfs"):
        pytest.skip("pages of tmpfs are never written back, so msync cannot clean them")
    return tmp_path / "data"


def test_ms_sync_writes_dirty_pages_back(disk_file: Path) -> None:
    m = ms.map_file(disk_file, 4 * PAGE, mode="w+")
    m[:] = b"x" * len(m)
    assert dirty_kib(m.address) == 4 * PAGE // 1024
    m.sync(PAGE, 2 * PAGE)
    assert dirty_kib(m.address) == 2 * PAGE // 1024  # the pages outside the range
    m.sync()
    assert dirty_kib(m.address) == 0
    assert disk_file.read_bytes() == b"x" * len(m)


@pytest.mark.parametrize(
    "flags",
    [
        ms.MS_SYNC,
        ms.MS_ASYNC,
        ms.MS_INVALIDATE,
        ms.MS_SYNC | ms.MS_INVALIDATE,
        ms.MS_ASYNC | ms.MS_INVALIDATE,
    ],
    ids=["SYNC", "ASYNC", "INVALIDATE", "SYNC|INVALIDATE", "ASYNC|INVALIDATE"],
)
def test_msync_flags(flags: int, tmp_path: Path) -> None:
    path = tmp_path / "data"
    m = ms.map_file(path, 2 * PAGE, mode="w+")
    m[PAGE : PAGE + 4] = b"sync"
    m.sync(PAGE - 1, 10, flags=flags)  # widened to the pages it touches
    assert path.read_bytes()[PAGE : PAGE + 4] == b"sync"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (ms.MS_SYNC | ms.MS_ASYNC, "exclude each other"),
        (0x100, "unknown MS_ flag bits 0x100"),
    ],
)
def test_msync_refuses_bad_flags(flags: int, message: str) -> None:
    with pytest.raises(OSError, match=message) as error:
        ms.map_anonymous(PAGE).sync(flags=flags)
    assert error.value.errno == errno.EINVAL


def test_flush_of_a_private_mapping_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(bytes(PAGE))
    m = ms.map_file(path, mode="c")
    m[:4] = b"mine"
    m.flush()
    m.sync()
    assert path.read_bytes() == bytes(PAGE)


# -- mincore, madvise, populate, mlock --------------------------------------------------


def test_residency_follows_touches_and_madv_dontneed() -> None:
    m = ms.map_anonymous(8 * PAGE, shared=False)
    assert not m.residency().any()
    m[0] = 1
    m[3 * PAGE + 5] = 1
    assert m.residency().tolist() == [True, False, False, True] + [False] * 4
    m.advise(ms.MADV_DONTNEED)
    assert not m.residency().any()
    assert m[0] == 0  # private anonymous pages come back as zeros


def test_populate_faults_every_page_in() -> None:
    m = ms.map_anonymous(16 * PAGE, shared=False)
    m.populate(start=4 * PAGE, length=4 * PAGE)
    assert m.residency().tolist() == [False] * 4 + [True] * 4 + [False] * 8
    m.populate(write=True)
    assert m.residency().all()
    assert ms.map_anonymous(4 * PAGE, populate=True).residency().all()


def test_lock_faults_pages_in_and_on_fault_waits_for_a_touch() -> None:
    m = ms.map_anonymous(8 * PAGE, shared=False)
    m.lock(on_fault=True)
    assert not m.residency().any()
    m[PAGE] = 1
    assert m.residency().tolist() == [False, True] + [False] * 6
    m.unlock()
    other = ms.map_anonymous(8 * PAGE, shared=False)
    other.lock(2 * PAGE, 2 * PAGE)
    assert other.residency().tolist() == [False, False, True, True] + [False] * 4
    other.unlock(2 * PAGE, 2 * PAGE)
    assert ms.map_anonymous(4 * PAGE, locked=True).residency().all()


def test_lock_past_rlimit_memlock_says_so() -> None:
    def lock_too_much() -> str:
        if os.getuid() == 0:
            os.setuid(65534)  # root locks without limit; nobody does not
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (64 * 1024, 64 * 1024))
        m = ms.map_anonymous(64 * PAGE, shared=False)
        with pytest.raises(OSError, match="RLIMIT_MEMLOCK is 64 KiB") as error:
            m.lock()
        return str(error.value)

    assert "mlock" in in_child(lock_too_much)


def test_discarding_advice_needs_whole_pages() -> None:
    m = ms.map_anonymous(4 * PAGE, shared=False)
    m[:] = b"\x01" * len(m)
    for advice in (
        ms.MADV_DONTNEED,
        ms.MADV_FREE,
        ms.MADV_DONTFORK,
        ms.MADV_WIPEONFORK,
    ):
        with pytest.raises(OSError, match="whole pages"):
            m.advise(advice, 10, PAGE)
    m.advise(ms.MADV_DONTNEED, PAGE, PAGE)
    assert m[PAGE - 1] == 1
    assert m[PAGE] == 0
    assert m[2 * PAGE] == 1
    m.advise(ms.MADV_WILLNEED, 10, 20)  # a hint: widened to its page
    m.madvise(ms.MADV_SEQUENTIAL, 1)


def test_advice_the_kernel_knows() -> None:
    m = ms.map_anonymous(4 * PAGE, shared=False)
    for advice in (
        ms.MADV_NORMAL,
        ms.MADV_RANDOM,
        ms.MADV_SEQUENTIAL,
        ms.MADV_WILLNEED,
        ms.MADV_DONTDUMP,
        ms.MADV_DODUMP,
        ms.MADV_COLD,
        ms.MADV_PAGEOUT,
        ms.MADV_POPULATE_READ,
        ms.MADV_POPULATE_WRITE,
        ms.MADV_KEEPONFORK,
        ms.MADV_DOFORK,
    ):
        m.advise(advice)
    with pytest.raises(OSError, match="unknown advice 12345") as error:
        m.advise(12345)
    assert error.value.errno == errno.EINVAL
    with pytest.raises(ValueError, match="SIGBUS"):
        m.advise(ms.MADV_HWPOISON)


def test_advice_a_kernel_refuses_names_the_release_it_needs() -> None:
    shared = ms.map_anonymous(PAGE)
    with pytest.raises(OSError, match=r"MADV_FREE needs Linux 4\.5") as error:
        shared.advise(ms.MADV_FREE)  # private anonymous memory only
    assert error.value.errno == errno.EINVAL


def test_dontfork_leaves_a_child_zero_pages_instead_of_a_hole() -> None:
    m = ms.map_anonymous(2 * PAGE, shared=False)
    array = m.view(np.uint8)
    array[:] = 7
    m.advise(ms.MADV_DONTFORK, PAGE, PAGE)

    def look() -> tuple[int, int, int]:
        return int(array[0]), int(array[PAGE]), m[PAGE]

    assert in_child(look) == (7, 0, 0)
    assert int(array[PAGE]) == 7
    m.advise(ms.MADV_DOFORK, PAGE, PAGE)
    assert in_child(look) == (7, 7, 7)


def test_wipeonfork_zeroes_the_childs_copy() -> None:
    m = ms.map_anonymous(PAGE, shared=False)
    m[0] = 5
    m.advise(ms.MADV_WIPEONFORK)
    assert in_child(lambda: m[0]) == 0
    assert m[0] == 5


def test_guard_pages_refuse_access() -> None:
    m = ms.map_anonymous(3 * PAGE, shared=False)
    try:
        m.advise(ms.MADV_GUARD_INSTALL, PAGE, PAGE)
    except OSError as error:
        assert "needs Linux 6.13" in str(error)  # noqa: PT017 - an older kernel
        return

    def touch_guard() -> str:
        with pytest.raises(TypeError, match="guard"):
            m[PAGE]
        with pytest.raises(BufferError):
            memoryview(m)
        return "refused"

    assert in_child(touch_guard) == "refused"
    m[0] = 1
    m.advise(ms.MADV_GUARD_REMOVE, PAGE, PAGE)
    assert m[PAGE] == 0
    view = memoryview(m)
    with pytest.raises(BufferError, match="guard"):
        m.advise(ms.MADV_GUARD_INSTALL, PAGE, PAGE)
    view.release()


# -- huge pages, names -------------------------------------------------------------------


def test_huge_pages_map_or_say_why_not() -> None:
    size = ms.default_huge_page_size()
    free_pages_file = (
        f"/sys/kernel/mm/hugepages/hugepages-{size // 1024}kB/free_hugepages"
    )
    free = int(Path(free_pages_file).read_text()) if size else 0
    if free >= 2:
        m = ms.map_anonymous(size + 1, hugepages=True)
        m[-1] = 1
        assert "ht" in Path("/proc/self/smaps").read_text()  # VmFlags of hugetlb
        with pytest.raises(OSError, match="whole pages"):
            m.advise(ms.MADV_DONTNEED, PAGE, PAGE)
    else:
        with pytest.raises(OSError, match="nr_hugepages") as error:
            ms.map_anonymous(2 * size, hugepages=True)
        assert error.value.errno == errno.ENOMEM
        assert "huge pages" in str(error.value)
    with pytest.raises(ValueError, match="huge pages of"):
        ms.map_anonymous(PAGE, hugepages=3 * 1024 * 1024)


def test_set_name_shows_in_proc_maps() -> None:
    m = ms.map_anonymous(PAGE, shared=False)
    try:
        m.set_name("memshare-test")
    except OSError as error:
        assert "CONFIG_ANON_VMA_NAME" in str(error)  # noqa: PT017 - kernel without it
        return
    assert maps_line(m.address).endswith("[anon:memshare-test]")
    with pytest.raises(ValueError, match="null"):
        m.set_name("a\0b")


# -- views and properties ---------------------------------------------------------------


def test_view_shapes_dtypes_and_offsets() -> None:
    m = ms.map_anonymous(PAGE)
    grid = m.view(np.float64, (8, 4), offset=8, order="F")
    assert grid.shape == (8, 4)
    assert grid.flags.f_contiguous
    grid[1, 0] = 2.5
    assert m.view(np.float64)[2] == 2.5  # offset 8 plus one item
    assert m.view(np.uint8).shape == (PAGE,)
    assert m.view(np.int32, offset=4).shape == ((PAGE - 4) // 4,)
    assert m.view(np.int16, ()).shape == ()
    assert m.view(np.int16, 0).shape == (0,)
    record = np.dtype([("a", "<i4"), ("b", "<f8")])
    assert m.view(record, 3)["b"].shape == (3,)
    with pytest.raises(ValueError, match="needs"):
        m.view(np.float64, PAGE)
    with pytest.raises(ValueError, match="outside"):
        m.view(np.uint8, offset=PAGE + 1)
    with pytest.raises(ValueError, match="negative"):
        m.view(np.uint8, (-1,))
    with pytest.raises(ValueError, match="order"):
        m.view(np.uint8, order="K")  # type: ignore[arg-type]


def test_views_keep_the_mapping_open() -> None:
    m = ms.map_anonymous(PAGE)
    column = m.view(np.int32, (32, 32))[:, 3]
    assert m.exports == 1
    with pytest.raises(BufferError):
        m.close()
    with pytest.raises(BufferError):
        m.resize(10)
    del column
    assert m.exports == 0
    m.close()


def test_properties() -> None:
    m = ms.map_anonymous(100, shared=False, prot=ms.PROT_READ)
    assert (m.length, m.offset, m.shared, m.anonymous) == (100, 0, False, True)
    assert m.prot == ms.PROT_READ
    assert m.access == ms.ACCESS_READ
    assert m.flags == ms.MAP_PRIVATE | ms.MAP_ANONYMOUS
    assert maps_line(m.address).split()[1] == "r--p"
    assert m.fileno() == -1
    assert m.kind == "private anonymous"
    assert repr(m) == (
        "<memshare.Mapping closed=False, access=ACCESS_READ, length=100, pos=0, "
        "offset=0>"
    )
    m.close()
    assert repr(m) == "<memshare.Mapping closed=True>"
    with pytest.raises(ValueError, match="closed"):
        m.address  # noqa: B018


def test_adopting_another_mapping() -> None:
    first = ms.Mapping(-1, PAGE)
    first[0] = 3
    second = ms.Mapping(first)
    assert first.closed
    assert second[0] == 3
    view = memoryview(second)
    with pytest.raises(BufferError):
        ms.Mapping(second)
    view.release()


# -- files that shrink under a mapping ----------------------------------------------------


def test_accesses_past_a_truncated_file_raise_instead_of_sigbus(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(b"a" * (3 * PAGE))
    m = ms.map_file(path)
    os.truncate(path, PAGE)  # as another process might, after the mapping was made

    def touch_past_the_end() -> list[str]:
        messages = []
        for access in (
            lambda: m[2 * PAGE],
            lambda: m[PAGE : PAGE + 10],
            lambda: m[::PAGE],
            lambda: m.read(),
            lambda: m.readline(),
            lambda: m.find(b"b"),
            lambda: m.rfind(b"b"),
            lambda: m.__setitem__(2 * PAGE, 1),
            lambda: m.__setitem__(slice(PAGE, PAGE + 3), b"xyz"),
            lambda: (m.seek(2 * PAGE), m.write(b"x")),
            lambda: (m.seek(2 * PAGE), m.read_byte()),
            lambda: m.move(2 * PAGE, 0, 10),
        ):
            m.seek(0)
            with pytest.raises(OSError, match="truncated") as error:
                access()
            assert error.value.errno == errno.EFAULT
            assert error.value.filename == str(path)
            messages.append(str(error.value))
        return messages

    messages = in_child(touch_past_the_end)
    assert f"lost its memory from byte {2 * PAGE}" in messages[0], messages[0]
    assert all("zero-filled pages" in message for message in messages)
    assert m[:3] == b"aaa"  # the page still inside the file is fine
    assert m.find(b"a", 0, PAGE) == 0


def test_a_mapping_survives_another_shrinking_the_file(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(bytes(4 * PAGE))
    reader, writer = ms.map_file(path), ms.map_file(path)
    writer.resize(PAGE)

    def read_all() -> bool:
        with pytest.raises(ms.MappingDamagedError, match=f"shrank to {PAGE} bytes"):
            reader[:]
        # Damaged from then on: every call says so, and closing works.
        with pytest.raises(ms.MappingDamagedError):
            reader[PAGE - 1]
        reader.close()
        return reader.closed

    assert in_child(read_all)


def test_faults_outside_memshare_calls_are_not_silent(tmp_path: Path) -> None:
    # A memoryview reads without memshare's guard; its fault must not be
    # swallowed into a silent wrong answer: the shield's error follows.
    path = tmp_path / "data"
    path.write_bytes(bytes(2 * PAGE))
    code = (
        "import os, sys, memshare as ms\n"
        f"m = ms.map_file({str(path)!r})\n"
        "view = memoryview(m)\n"
        f"os.truncate({str(path)!r}, 1)\n"
        f"print(view[{PAGE}])\n"
        "for _ in range(10**8): pass\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=False, timeout=60
    )
    assert child.returncode == 1
    assert b"MappingDamagedError" in child.stderr
