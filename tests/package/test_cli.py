"""The command line, run as users run it."""

from __future__ import annotations

import importlib.util
import json
import resource
import subprocess
import sys

import pytest

import memshare


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memshare", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_demo_compares_a_pool_on_a_shared_array_with_pickling(method: str) -> None:
    result = run("demo", "--size", "32", "--workers", "2", "--start-method", method)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no warnings from the workers either
    rows = {
        line.split()[0]: line.split()
        for line in result.stdout.splitlines()
        if line.startswith(("pickling ", "memshare ")) and "/" not in line
    }
    # time, then "sent" and "back" as a number and a unit, then memory
    pickling, shared = rows["pickling"], rows["memshare"]
    assert pickling[2:4] == ["32.0", "MiB"]  # the whole array went by pipe
    assert pickling[4:6] == ["32.0", "MiB"]  # and came back
    assert shared[3] in ("B", "KiB")  # handles only
    assert shared[5] in ("B", "KiB")
    assert "The same result both ways: yes." in result.stdout
    assert "came back as views of the shared array" in result.stdout


def test_demo_size_must_be_positive() -> None:
    result = run("demo", "--size", "0")
    assert result.returncode == 2
    assert "must be at least 1" in result.stderr


def test_demo_mappings_shows_the_four_kinds_of_mapping() -> None:
    result = run("demo", "mappings")
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
        [sys.executable, "-m", "memshare", "demo", "--size", "16"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as demo:
        assert demo.stdout is not None
        demo.stdout.readline()
        demo.stdout.close()
        _, errors = demo.communicate(timeout=120)
    assert b"Traceback" not in errors


def test_info_without_a_name_describes_the_machine() -> None:
    result = run("info")
    assert result.returncode == 0, result.stderr
    assert f"page size               {memshare.PAGESIZE // 1024} KiB" in result.stdout
    assert "/dev/shm" in result.stdout
    found = json.loads(run("info", "--json").stdout)
    assert found["page_size"] == memshare.PAGESIZE
    assert found["open_files_limit"] == resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def test_bench_runs_the_cases_named_and_reports_ratios() -> None:
    result = run("bench", "--quick", "--json", "sync")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["quick"] is True
    rows = report["results"]
    assert {row["alternative"] for row in rows} == {
        "multiprocessing.Lock",
        "multiprocessing.Event",
    }
    assert all(row["ratio"] == row["ours"] / row["theirs"] > 0 for row in rows)


def test_bench_compares_queues_with_what_is_installed() -> None:
    result = run("bench", "--quick", "--json", "queue")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["results"]
    expected = {"multiprocessing.Queue"}
    if importlib.util.find_spec("faster_fifo") is not None:
        expected.add("faster-fifo")
    assert {row["alternative"] for row in rows} == expected
    assert len({row["case"] for row in rows}) == 4
    assert all(row["ratio"] == row["ours"] / row["theirs"] > 0 for row in rows)


def test_bench_refuses_an_unknown_case() -> None:
    result = run("bench", "--quick", "nonsense")
    assert result.returncode == 1
    assert "no such case: nonsense" in result.stderr
