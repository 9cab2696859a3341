"""The type stub of the C++ module is generated from it, and must not drift."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import memshare
import memshare._core

STUB = Path(memshare.__file__).with_name("_core.pyi")
REGENERATE = "pybind11-stubgen memshare._core -o python --numpy-array-use-type-var"


def comparable(stub: str) -> str:
    """`stub` without what depends on the Python that generated it: from
    3.12 on, types with the buffer protocol show __buffer__ and
    __release_buffer__, and typing_extensions.Buffer is spelled
    collections.abc.Buffer."""
    stub = re.sub(
        r'\n    def __(release_)?buffer__\(self, \w+\):\n        """\n.*?"""',
        "",
        stub,
        flags=re.DOTALL,
    )
    stub = stub.replace("import collections.abc\n", "")
    return stub.replace("collections.abc.Buffer", "typing_extensions.Buffer")


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
    assert comparable(generated) == comparable(STUB.read_text()), (
        f"the stub is stale; run: {REGENERATE}"
    )


def test_every_constant_of_the_core_is_exported() -> None:
    constants = {name for name in dir(memshare._core) if name.isupper()}
    assert constants <= set(memshare.__all__)
    assert all(
        getattr(memshare, name) == getattr(memshare._core, name) for name in constants
    )
