"""The command line, run as users run it."""

from __future__ import annotations

import subprocess
import sys

import memshare


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memshare", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo_shows_the_four_kinds_of_mapping() -> None:
    result = run("demo")
    assert result.returncode == 0, result.stderr
    rows = {
        line.split("  ")[1]: line
        for line in result.stdout.splitlines()
        if line.startswith(("  shared", "  private"))
    }
    assert "'child '" in rows["shared anonymous"]
    assert rows["private anonymous"].count("'parent'") == 2
    assert rows["shared file"].endswith("'child '")
    assert rows["private file"].endswith("'------'")
    assert "TypeError" in result.stdout
    assert "[#..#]" in result.stdout


def test_version_and_usage() -> None:
    assert run("--version").stdout.strip() == memshare.__version__
    result = run()
    assert result.returncode == 2
    assert "required: COMMAND" in result.stderr
    assert "demo" in run("--help").stdout


def test_a_reader_that_goes_away_ends_the_demo_quietly() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "memshare", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as demo:
        assert demo.stdout is not None
        demo.stdout.readline()
        demo.stdout.close()
        _, errors = demo.communicate(timeout=120)
    assert b"Traceback" not in errors
