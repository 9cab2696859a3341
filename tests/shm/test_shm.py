"""shm_open, shm_unlink, memfd_create and seals, and the names they take."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest
from support import in_child

import memshare as ms

PAGE = ms.PAGESIZE


def test_shm_open_creates_opens_and_unlinks(shm_name: str) -> None:
    fd = ms.shm_open(shm_name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o640)
    try:
        assert os.path.exists(f"/dev/shm/{shm_name}")
        assert not os.get_inheritable(fd)
        os.ftruncate(fd, PAGE)
        with pytest.raises(FileExistsError, match="shm_open"):
            ms.shm_open(shm_name, os.O_CREAT | os.O_EXCL | os.O_RDWR)
        second = ms.shm_open("/" + shm_name, os.O_RDONLY)  # the slash is optional
        assert os.fstat(second).st_size == PAGE
        os.close(second)
    finally:
        os.close(fd)
    ms.shm_unlink(shm_name)
    assert not os.path.exists(f"/dev/shm/{shm_name}")
    with pytest.raises(FileNotFoundError) as error:
        ms.shm_unlink(shm_name)
    assert error.value.filename == shm_name
    with pytest.raises(FileNotFoundError, match="shm_open"):
        ms.shm_open(shm_name, os.O_RDWR)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "empty"),
        ("/", "empty"),
        ("a/b", "'/' after the first character"),
        ("//a", "'/' after the first character"),
        ("a\0b", "NUL"),
        (".", "directories"),
        ("..", "directories"),
        ("x" * 256, "NAME_MAX"),
    ],
    ids=[
        "empty",
        "slash only",
        "inner slash",
        "two slashes",
        "nul",
        "dot",
        "dotdot",
        "long",
    ],
)
def test_bad_names_are_refused_before_any_call(name: str, why: str) -> None:
    for call in (
        lambda: ms.shm_open(name, os.O_CREAT | os.O_RDWR),
        lambda: ms.shm_unlink(name),
        lambda: ms.SharedMemory(name, create=True, size=1),
        lambda: ms.SharedMemory(name),
        lambda: ms.segment(name),
    ):
        with pytest.raises(ValueError, match=why):
            call()
    assert len("x" * 255) == 255
    with pytest.raises(TypeError, match="str or bytes"):
        ms.shm_open(3, os.O_RDWR)  # type: ignore[arg-type]


def _suite_entries() -> set[str]:
    return {n for n in os.listdir("/dev/shm") if "memshare-test" in n}


@pytest.mark.parametrize(
    "name", [b"memshare-test-\xff", "memshare-test-\udcff", b"memshare-test-\xc3("]
)
def test_a_name_that_is_not_utf8_is_refused_before_anything_is_made(
    name: str | bytes,
) -> None:
    before = _suite_entries()
    for call in (
        lambda: ms.shm_open(name, os.O_CREAT | os.O_RDWR),
        lambda: ms.SharedMemory(name, create=True, size=1),
        lambda: ms.zeros(3, name=name),
        lambda: ms.NamedSemaphore(name, create=True),
        lambda: ms.MessageQueue(name, create=True),
        lambda: ms.shm_unlink(name),
        lambda: ms.attach(name),
    ):
        with pytest.raises(ValueError, match="not UTF-8"):
            call()
    assert _suite_entries() == before


def test_a_semaphore_name_is_at_most_251_bytes(shm_name: str) -> None:
    # glibc's file is /dev/shm/sem.NAME: the prefix takes 4 of NAME_MAX.
    longest = (shm_name + "x" * 255)[:251]
    semaphore = ms.NamedSemaphore(longest, create=True)
    semaphore.unlink()
    semaphore.close()
    for length in (252, 255):
        with pytest.raises(ValueError, match="longer than 251 bytes"):
            ms.NamedSemaphore((shm_name + "x" * 255)[:length], create=True)
    assert not [n for n in os.listdir("/dev/shm") if shm_name in n]


@pytest.mark.parametrize("kind", ["fifo", "directory", "symlink"])
def test_a_name_that_is_no_regular_file_fails_at_once(kind: str, shm_name: str) -> None:
    path = f"/dev/shm/{shm_name}"
    target = f"{path}-target"
    if kind == "fifo":
        os.mkfifo(path, 0o600)
    elif kind == "directory":
        os.mkdir(path, 0o700)
    else:
        with open(target, "wb") as file:
            file.write(bytes(PAGE))
        os.symlink(target, path)
    why = {"fifo": "is a FIFO", "directory": "directory", "symlink": "symbolic link"}
    try:
        # In a child, whose alarm would end a hang in open(2).
        for readonly in (True, False):
            for call in (
                lambda r=readonly: ms.attach(shm_name, readonly=r),
                lambda r=readonly: ms.SharedMemory(shm_name, readonly=r),
            ):
                with pytest.raises(OSError, match=why[kind]):
                    in_child(call)
    finally:
        if kind == "directory":
            os.rmdir(path)
        else:
            os.unlink(path)
        if os.path.exists(target):
            os.unlink(target)


def test_a_fifo_path_given_to_map_file_fails_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for mode in ("r", "r+", "c"):
        with pytest.raises(ValueError, match="is not a regular file"):
            in_child(lambda mode=mode: ms.map_file(fifo, mode=mode))


def test_a_name_of_255_bytes_and_any_other_characters_works() -> None:
    for name in ("é" * 127 + "x", "with spaces and\nnewline", "x" * 255):
        fd = ms.shm_open(name, os.O_CREAT | os.O_EXCL | os.O_RDWR)
        os.close(fd)
        ms.shm_unlink(name)


def test_memfd_memory_is_anonymous_and_sealable() -> None:
    fd = ms.memfd_create("memshare-test", ms.MFD_CLOEXEC | ms.MFD_ALLOW_SEALING)
    try:
        assert os.readlink(f"/proc/self/fd/{fd}").startswith("/memfd:memshare-test")
        os.ftruncate(fd, 2 * PAGE)
        m = ms.map_file(fd)
        m[:5] = b"memfd"
        assert os.pread(fd, 5, 0) == b"memfd"
        ms.add_seals(fd, ms.F_SEAL_SHRINK | ms.F_SEAL_GROW)
        assert ms.get_seals(fd) == ms.F_SEAL_SHRINK | ms.F_SEAL_GROW
        with pytest.raises(PermissionError):
            os.ftruncate(fd, PAGE)  # the seal protects every mapping from SIGBUS
        with pytest.raises(PermissionError):
            m.resize(PAGE)
        with pytest.raises(OSError, match="F_SEAL_WRITE needs") as error:
            ms.add_seals(fd, ms.F_SEAL_WRITE)  # a writable mapping exists
        assert error.value.errno == errno.EBUSY
        m.close()
        ms.add_seals(fd, ms.F_SEAL_WRITE | ms.F_SEAL_SEAL)
        with pytest.raises(PermissionError):
            ms.map_file(fd, mode="r+")
        assert ms.map_file(fd, mode="r")[:5] == b"memfd"
        with pytest.raises(PermissionError, match="F_SEAL_SEAL is set"):
            ms.add_seals(fd, ms.F_SEAL_EXEC)
    finally:
        os.close(fd)


def test_memfd_errors() -> None:
    plain = ms.memfd_create("plain")
    try:
        with pytest.raises(PermissionError, match="MFD_ALLOW_SEALING"):
            ms.add_seals(plain, ms.F_SEAL_SHRINK)
    finally:
        os.close(plain)
    with pytest.raises(ValueError, match="NUL"):
        ms.memfd_create("a\0b")
    with pytest.raises(ValueError, match="249"):
        ms.memfd_create("x" * 250)
    with pytest.raises(OSError, match="memfd_create") as error:
        ms.memfd_create("x", 0x4000_0000)
    assert error.value.errno == errno.EINVAL
    with pytest.raises(OSError, match="F_GET_SEALS"):
        ms.get_seals(-1)


def test_mode_is_exact_whatever_the_umask(shm_name: str) -> None:
    old = os.umask(0o077)
    try:
        shm = ms.SharedMemory(shm_name, create=True, size=10, mode=0o664)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(f"/dev/shm/{shm_name}").st_mode) == 0o664
    shm.close()
