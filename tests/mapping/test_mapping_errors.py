"""Bad input gets a Python exception that names the problem: the right type,
the errno for a failed call, the call and the file in the message."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

import memshare as ms

PAGE = ms.PAGESIZE


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.write_bytes(b"0123456789" * 100)
    return path


@pytest.mark.parametrize("size", [0, -1, -(2**40)])
def test_sizes_must_be_positive(size: int, data_file: Path) -> None:
    with pytest.raises(ValueError, match=f"size must be positive, not {size}"):
        ms.map_anonymous(size)
    with pytest.raises(ValueError, match=f"size must be positive, not {size}"):
        ms.map_file(data_file, size)


@pytest.mark.parametrize(
    ("size", "error"),
    [(1.5, TypeError), ("10", TypeError), (None, TypeError), (2**64, OverflowError)],
)
def test_sizes_must_be_integers_that_fit(size: object, error: type) -> None:
    with pytest.raises(error):
        ms.map_anonymous(size)  # type: ignore[arg-type]


def test_a_size_larger_than_memory_fails_with_enomem() -> None:
    with pytest.raises(OSError, match=r"mmap\(4 EiB") as error:
        ms.map_anonymous(2**62)
    assert error.value.errno == errno.ENOMEM
    with pytest.raises(OSError, match="Cannot allocate memory") as error:
        ms.Mapping(-1, 2**62)
    assert error.value.errno == errno.ENOMEM


def test_sizes_past_the_end_of_the_file(data_file: Path) -> None:
    with pytest.raises(ValueError, match="the file has 1000 bytes"):
        ms.map_file(data_file, 1001)
    with pytest.raises(ValueError, match="the file has 1000 bytes"):
        ms.map_file(data_file, 500, offset=501)
    with pytest.raises(ValueError, match="none at offset 1000"):
        ms.map_file(data_file, offset=1000)
    with pytest.raises(ValueError, match="the file has 1000 bytes"):
        ms.map_file(data_file, 2**62)
    with pytest.raises(ValueError, match="negative"):
        ms.map_file(data_file, offset=-1)
    assert data_file.stat().st_size == 1000  # "r+" never grows the file


def test_an_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.touch()
    with pytest.raises(ValueError, match="it has 0 bytes"):
        ms.map_file(empty)


def test_missing_and_unmappable_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(FileNotFoundError) as error:
        ms.map_file(missing)
    assert error.value.filename == str(missing)
    assert str(error.value).startswith("[Errno 2] open: ")
    assert not missing.exists()
    with pytest.raises(IsADirectoryError):
        ms.map_file(tmp_path)
    with pytest.raises(ValueError, match="not a regular file"):
        ms.map_file(tmp_path, mode="r")
    with pytest.raises(OSError, match="does not support memory mapping") as error:
        ms.map_file(os.devnull, 10)
    assert error.value.errno == errno.ENODEV
    assert error.value.filename == os.devnull


def test_closed_and_unknown_descriptors(data_file: Path) -> None:
    fd = os.open(data_file, os.O_RDONLY)
    os.close(fd)
    with pytest.raises(OSError, match="dup") as error:
        ms.map_file(fd)
    assert error.value.errno == errno.EBADF
    with pytest.raises(OSError, match="Bad file descriptor") as error:
        ms.Mapping(fd, 10)
    assert error.value.errno == errno.EBADF


def test_a_read_only_descriptor_mapped_for_writing(data_file: Path) -> None:
    fd = os.open(data_file, os.O_RDONLY)
    try:
        with pytest.raises(PermissionError, match=r"not open for .*writing") as error:
            ms.map_file(fd, mode="r+")
        assert error.value.filename == str(data_file)
        assert "mmap(" in str(error.value)
        with pytest.raises(PermissionError):
            ms.Mapping(fd, 0)
        assert ms.map_file(fd, mode="r")[:4] == b"0123"
        assert ms.map_file(fd, mode="c")[:4] == b"0123"
    finally:
        os.close(fd)


def test_a_read_only_file_mapped_for_writing(data_file: Path) -> None:
    m = ms.map_file(data_file, mode="r")
    with pytest.raises(TypeError, match="readonly"):
        m[0] = 1
    with pytest.raises(TypeError, match="readonly"):
        m.resize(10)


def test_bad_modes_and_paths(data_file: Path) -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        ms.map_file(data_file, mode="rw")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a size"):
        ms.map_file(data_file, mode="w+")
    with pytest.raises(ValueError, match="larger than any file"):
        ms.map_file(data_file, 2**62, offset=2**62, mode="w+")
    assert data_file.stat().st_size == 1000  # refused before the file was cut
    with pytest.raises(TypeError, match="not bool"):
        ms.map_file(True)
    with pytest.raises(TypeError):
        ms.map_file(1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (0, "MAP_SHARED or MAP_PRIVATE"),
        (ms.MAP_SHARED | 0x10, "MAP_FIXED"),  # MAP_FIXED
        (ms.MAP_SHARED | ms.MAP_FIXED_NOREPLACE, "MAP_FIXED"),
        (ms.MAP_SHARED | 0x0100, "MAP_GROWSDOWN"),
        (ms.MAP_SHARED | ms.MAP_HUGETLB | ms.MAP_NORESERVE, "SIGBUS"),
        (ms.MAP_SHARED | ms.MAP_HUGE_2MB, "needs MAP_HUGETLB"),
        (ms.MAP_SHARED | 0x800000, "unknown MAP_ flag bits 0x800000"),
    ],
    ids=[
        "no type",
        "fixed",
        "fixed noreplace",
        "growsdown",
        "hugetlb noreserve",
        "huge size alone",
        "unknown",
    ],
)
def test_unknown_and_unsafe_flags(flags: int, message: str) -> None:
    with pytest.raises(OSError, match=message) as error:
        ms.Mapping(-1, PAGE, flags=flags)
    assert error.value.errno == errno.EINVAL


def test_unknown_arguments_to_memory_calls() -> None:
    m = ms.map_anonymous(PAGE)
    with pytest.raises(OSError, match="unknown PROT_ bits"):
        m.protect(0x40)
    with pytest.raises(OSError, match="unknown MS_ flag bits"):
        m.sync(flags=0x40)
    with pytest.raises(OSError, match="unknown advice"):
        m.advise(-3)
    for call in (m.protect, m.advise):
        with pytest.raises(ValueError, match="outside the mapping"):
            call(ms.PROT_READ, PAGE, 1)

    def populate(start: int, length: int | None = None) -> None:
        m.populate(False, start, length)

    for range_call in (m.sync, m.lock, m.unlock, populate):
        with pytest.raises(ValueError, match="outside the mapping"):
            range_call(0, PAGE + 1)
    for extreme in (-(2**63), 2**63 - 1):
        for range_call in (m.sync, m.lock, m.unlock, populate):
            with pytest.raises(ValueError, match="outside the mapping"):
                range_call(extreme)
            with pytest.raises(ValueError, match="outside the mapping"):
                range_call(0, extreme)
        with pytest.raises(ValueError, match="outside the mapping"):
            m.protect(ms.PROT_READ, extreme)
    with pytest.raises(OverflowError):
        m.sync(2**63)


def test_every_call_on_a_closed_mapping_raises_value_error() -> None:
    m = ms.map_anonymous(PAGE)
    m.close()
    for call in (
        lambda: m.protect(ms.PROT_READ),
        m.sync,
        lambda: m.advise(ms.MADV_NORMAL),
        m.lock,
        m.unlock,
        m.populate,
        m.residency,
        m.view,
        lambda: m.set_name("x"),
        m.fileno,
        lambda: m.address,
        lambda: m.prot,
        lambda: m.kind,
        lambda: m.exports == 0 and m.length,
    ):
        with pytest.raises(ValueError, match="closed"):
            call()


def _free_huge_pages(size_kib: int) -> int:
    path = Path(f"/sys/kernel/mm/hugepages/hugepages-{size_kib}kB/free_hugepages")
    return int(path.read_text()) if path.exists() else 0


def test_too_few_huge_pages_for_a_hugetlb_memfd_names_nr_hugepages() -> None:
    # One page more than are free, on any machine.
    size = (_free_huge_pages(2048) + 1) << 21
    fd = ms.memfd_create("memshare-test", ms.MFD_HUGETLB | ms.MFD_CLOEXEC)
    try:
        os.ftruncate(fd, size)
        with pytest.raises(OSError, match="nr_hugepages") as error:
            ms.map_file(fd)
        assert error.value.errno == errno.ENOMEM
    finally:
        os.close(fd)


def test_the_huge_page_size_field_prints_by_name() -> None:
    size = (_free_huge_pages(1 << 20) + 1) << 30
    with pytest.raises(OSError, match=r"MAP_HUGETLB\|MAP_HUGE_1GB") as error:
        ms.map_anonymous(size, hugepages=1 << 30, noreserve=False)
    assert "0x78000000" not in str(error.value)


def test_locking_pages_past_a_truncated_end_names_the_file_not_the_limit(
    tmp_path: Path,
) -> None:
    data_file = tmp_path / "three pages"
    data_file.write_bytes(bytes(3 * ms.PAGESIZE))
    m = ms.map_file(data_file, mode="r+")
    os.truncate(data_file, ms.PAGESIZE)
    with pytest.raises(OSError, match="shorter than the") as error:
        m.lock()
    assert "RLIMIT_MEMLOCK" not in str(error.value)
    m.close()
