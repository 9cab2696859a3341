"""The type stub of the C++ module is generated from it, and must not drift."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import memshare
import memshare._core

STUB = Path(memshare.__file__).with_name("_core.pyi")
REGENERATE = "pybind11-stubgen memshare._core -o python --numpy-array-use-type-var"


def test_core_stub_matches_the_module(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pybind11_stubgen",
            "memshare._core",
            "-o",
            str(tmp_path),
            "--numpy-array-use-type-var",
        ],
        check=True,
        capture_output=True,
    )
    generated = (tmp_path / "memshare" / "_core.pyi").read_text()
    assert generated == STUB.read_text(), f"the stub is stale; run: {REGENERATE}"


def test_every_constant_of_the_core_is_exported() -> None:
    constants = {name for name in dir(memshare._core) if name.isupper()}
    assert constants <= set(memshare.__all__)
    assert all(
        getattr(memshare, name) == getattr(memshare._core, name) for name in constants
    )
