"""The examples in the README run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import ray_folder

README = Path(__file__).parents[2] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)


@pytest.mark.parametrize("code", python_blocks())
def test_example_runs(
    code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    if "__main__" in code:
        # Worker processes import the example: it must be a file, run as one.
        script = tmp_path / "example.py"
        script.write_text(code)
        # Dask's scratch space in the example's folder, Ray's in a short one.
        with ray_folder() as ray:
            env = {"DASK_TEMPORARY_DIRECTORY": str(tmp_path), "RAY_TMPDIR": ray}
            result = subprocess.run(
                [sys.executable, script],
                env={**os.environ, **env},
                check=False,
                capture_output=True,
                text=True,
                timeout=120,
            )
        assert result.returncode == 0, result.stderr
        return
    exec(compile(code, str(README), "exec"), {})  # noqa: S102 - our own README
