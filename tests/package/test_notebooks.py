"""The notebooks run top to bottom on a fresh kernel, and are committed
without outputs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"
README = Path(__file__).parents[2] / "README.md"


def notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def test_there_are_notebooks_for_each_topic() -> None:
    # mappings, POSIX shm, pages, arrays with workers, synchronization
    assert len(notebooks()) >= 5


@pytest.fixture
def this_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernel of this interpreter, whatever "python3" kernels the machine
    has installed: the name of its spec."""
    spec = tmp_path / "kernels" / "memshare-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "memshare tests", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))  # searched first
    return spec.name


@pytest.mark.parametrize("path", notebooks(), ids=lambda path: path.stem)
def test_notebook_runs_clean(path: Path, this_python: str) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,  # per cell; a cell that hangs fails the test
        kernel_name=this_python,
        # The notebook's directory, as in Jupyter: workers import workers.py.
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    # Any error in a cell raises CellExecutionError, naming the cell.
    client.execute(env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    errors = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]
    assert not errors


@pytest.mark.parametrize("path", notebooks(), ids=lambda path: path.stem)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] for cell in code)
    assert all(cell.execution_count is None for cell in code)


@pytest.mark.parametrize("path", notebooks(), ids=lambda path: path.stem)
def test_readme_links_the_notebook(path: Path) -> None:
    assert f"(notebooks/{path.name})" in README.read_text()
