"""A pool ends cleanly however it ends: nothing is left after close and
join, terminate or shutdown (no process, segment, descriptor or thread);
Ctrl-C in map() stops it; its workers exit on their own when its process
is killed; collected unclosed, it warns and terminates."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support import START_METHODS, wait_for

import memshare as ms


def sqr(x: int) -> int:
    return x * x


def descriptors() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def pool_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("memshare pool")]


def running(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def pool_closed(method: str) -> list[int]:
    pool = ms.Pool(3, context=multiprocessing.get_context(method))
    assert pool.map(sqr, range(100), 1) == [x * x for x in range(100)]
    pids = [worker.pid for worker in pool._pool]
    pool.close()
    pool.join()
    return pids


def pool_terminated(method: str) -> list[int]:
    pool = ms.Pool(3, context=multiprocessing.get_context(method))
    pool.map_async(time.sleep, [30] * 10, 1)
    pids = [worker.pid for worker in pool._pool]
    pool.terminate()
    pool.join()
    return pids


def executor_shut_down(method: str) -> list[int]:
    ex = ms.ProcessPoolExecutor(3, multiprocessing.get_context(method))
    assert list(ex.map(sqr, range(100))) == [x * x for x in range(100)]
    ex.submit(time.sleep, 0.2)
    pids = [worker.pid for worker in ex._dispatcher.workers.processes]
    ex.shutdown(cancel_futures=True)
    return pids


ENDINGS: dict[str, Callable[[str], list[int]]] = {
    "pool closed": pool_closed,
    "pool terminated": pool_terminated,
    "executor shut down": executor_shut_down,
}


@pytest.mark.parametrize("method", START_METHODS)
@pytest.mark.parametrize("ending", ENDINGS)
def test_nothing_is_left(ending: str, method: str) -> None:
    ENDINGS[ending](method)  # what a first pool starts once (forkserver, courier)
    gc.collect()
    ms.release_unused()
    fds, shm = descriptors(), set(os.listdir("/dev/shm"))
    pids = ENDINGS[ending](method)
    assert not any(running(pid) for pid in pids)
    assert not multiprocessing.active_children()
    assert wait_for(lambda: not pool_threads())
    gc.collect()
    ms.release_unused()
    assert descriptors() <= fds
    assert set(os.listdir("/dev/shm")) <= shm


CTRL_C = """
import multiprocessing, sys, time
import memshare as ms

if __name__ == "__main__":
    pool = ms.Pool(2, context=multiprocessing.get_context(sys.argv[1]))
    print(*(w.pid for w in pool._pool), flush=True)
    with pool:
        pool.map(time.sleep, [30] * 4, 1)
"""

PARENT_KILLED = """
import multiprocessing, os, signal, sys, time
import memshare as ms

if __name__ == "__main__":
    pool = ms.Pool(2, context=multiprocessing.get_context(sys.argv[1]))
    pool.map(abs, range(4))
    print(*(w.pid for w in pool._pool), flush=True)
    pool.map_async(time.sleep, [2] * 4, 1)
    time.sleep(0.2)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def run(script: str, method: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), method],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("method", START_METHODS)
def test_ctrl_c_in_map_stops_the_pool(method: str) -> None:
    child = run(CTRL_C, method)
    assert child.stdout is not None
    pids = [int(pid) for pid in child.stdout.readline().split()]
    time.sleep(1.0)  # inside map()
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGINT  # how Python ends on Ctrl-C
    assert err.rstrip().endswith("KeyboardInterrupt")
    assert err.count("Traceback") == 1  # the workers printed none
    assert wait_for(lambda: not any(running(pid) for pid in pids))


@pytest.mark.parametrize("method", START_METHODS)
def test_workers_outlive_no_killed_parent(method: str) -> None:
    child = run(PARENT_KILLED, method)
    assert child.stdout is not None
    pids = [int(pid) for pid in child.stdout.readline().split()]
    assert child.wait(60) == -signal.SIGKILL
    # They finish their task (2 s of sleep) and see their parent gone.
    assert wait_for(lambda: not any(running(pid) for pid in pids), timeout=30)
    child.communicate()


def test_a_pool_collected_running_warns_and_terminates() -> None:
    held = [ms.Pool(2, context=multiprocessing.get_context("spawn"))]
    pids = [worker.pid for worker in held[0]._pool]
    with pytest.warns(ResourceWarning, match="unclosed running memshare pool"):
        held.clear()  # the last reference
    assert wait_for(lambda: not any(running(pid) for pid in pids))
    assert wait_for(lambda: not pool_threads())
