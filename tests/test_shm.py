"""shm_open, shm_unlink, memfd_create and seals, and the names they take."""

from __future__ import annotations

import errno
import os
import stat

import pytest

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
