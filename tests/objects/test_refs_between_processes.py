"""ObjectRefs and shared objects in real processes, under fork, spawn and
forkserver: through every channel multiprocessing offers they arrive as views
of the same memory (writes seen by the sender when asked for), four workers
holding a DataFrame or an Arrow table hold one copy in all, and the memory
goes when the whole tree is killed."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import select
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from channels import CHANNELS, name_of
from support import START_METHODS, shmem_kib, wait_for

import memshare as ms

TIMEOUT = 60


def write_through(ref: ms.ObjectRef) -> tuple[bool, ms.ObjectRef, Any]:
    """What a worker does: rebuild the object, write into it, and send back
    the ref and the rebuilt object."""
    obj = ref.get()
    obj["values"][:] = 7
    return ms.is_shared(obj["values"]), ref, obj


@pytest.mark.parametrize("method", START_METHODS)
@pytest.mark.parametrize("channel", CHANNELS, ids=name_of)
def test_a_writable_ref_is_the_same_memory_in_the_worker(
    channel: Callable[..., Any], method: str
) -> None:
    ref = ms.put({"values": np.zeros(1 << 16), "label": "x"}, writable=True)
    shared, back, obj = channel(multiprocessing.get_context(method), write_through, ref)
    assert shared
    assert ref.get()["values"].min() == 7  # the worker's write, seen here
    assert np.shares_memory(back.get()["values"], ref.get()["values"])
    assert np.shares_memory(obj["values"], ref.get()["values"])
    assert obj["label"] == "x"


def first_value(ref: ms.ObjectRef) -> Any:
    return ref.get()["values"][0]


@pytest.mark.parametrize("method", START_METHODS)
def test_a_read_only_ref_stays_read_only_in_the_worker(method: str) -> None:
    ref = ms.put({"values": np.ones(10)})
    with multiprocessing.get_context(method).Pool(1) as pool:
        assert pool.apply(first_value, (ref,)) == 1
        with pytest.raises(ValueError, match="read-only"):
            pool.apply(write_through, (ref,))


# -- four workers, one copy ---------------------------------------------------------


def digest(obj: Any) -> str:
    """A hash of every byte of a DataFrame's or a table's data, read where it
    lies (no copy)."""
    found = hashlib.sha256()
    if isinstance(obj, pa.Table):
        for column in obj.columns:
            for chunk in column.chunks:
                for buffer in chunk.buffers():
                    if buffer is not None:
                        found.update(buffer)
    else:
        for name in obj.columns:
            found.update(np.ascontiguousarray(obj[name].to_numpy()))
    return found.hexdigest()


def hold(sent: Any, expected: str, ready: Any, wrong: Any, done: Any) -> None:
    obj = sent.get() if isinstance(sent, ms.ObjectRef) else sent
    (ready if digest(obj) == expected else wrong).fetch_add(1)
    done.wait(TIMEOUT)


def big_frame(size: int) -> pd.DataFrame:
    rows = size // 64
    rng = np.random.default_rng(7)
    return pd.DataFrame({f"c{i}": rng.random(rows) for i in range(8)})


def big_table(size: int) -> pa.Table:
    rows = size // 16
    rng = np.random.default_rng(7)
    return pa.table({"x": rng.random(rows), "y": np.arange(rows)})


def first_address(obj: Any) -> int:
    if isinstance(obj, pa.Table):
        return int(obj.column(0).chunk(0).buffers()[1].address)
    return int(obj.iloc[:, 0].to_numpy().ctypes.data)


@pytest.mark.parametrize("how", ["share", "put"])
@pytest.mark.parametrize("make", [big_frame, big_table], ids=["DataFrame", "Arrow"])
def test_four_spawn_workers_hold_one_copy(make: Callable[[int], Any], how: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    size, workers = 64 << 20, 4
    original = make(size)
    expected = digest(original)
    ref = ms.put(original)
    shared = ref.get()
    assert shared.equals(original)
    del original
    sent = shared if how == "share" else ref
    ready, wrong, done = ms.AtomicInt(), ms.AtomicInt(), ms.Event()
    processes = [
        ctx.Process(target=hold, args=(sent, expected, ready, wrong, done))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        arrived = lambda: ready.load() + wrong.load() == workers
        assert wait_for(arrived, timeout=TIMEOUT)
        assert wrong.load() == 0, "a worker's object differs from the original"
        inode = next(e.inode for e in ms.maps() if first_address(shared) in e)
        pids = [os.getpid(), *(process.pid for process in processes)]
        shares = [sum(e.pss for e in ms.maps(pid) if e.inode == inode) for pid in pids]
        # Every process maps every page of it; PSS charges each a fifth.
        assert sum(shares) == pytest.approx(ref.nbytes, rel=0.02)
        assert all(s == pytest.approx(ref.nbytes / len(pids), rel=0.05) for s in shares)
        report = ms.memory_report()
        assert report.rss - report.pss > workers * size * 0.9
    finally:
        done.set()
        for process in processes:
            process.join(TIMEOUT)


# -- a whole process tree killed ------------------------------------------------------

TREE = """
import multiprocessing, sys, time
import numpy as np
import memshare as ms

def hold(ref, ready):
    obj = ref.get()
    assert obj["values"].sum() == obj["values"].size
    ready.send("holding")
    time.sleep(600)

if __name__ == "__main__":
    ctx = multiprocessing.get_context("spawn")
    ref = ms.put({"values": np.ones(SIZE // 8)})
    waiting, ready = ctx.Pipe(duplex=False)
    workers = [ctx.Process(target=hold, args=(ref, ready)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        waiting.recv()
    del ref  # the workers hold it
    print("ready", flush=True)
    time.sleep(600)
"""


def test_killing_the_whole_tree_frees_the_objects_memory(tmp_path: Path) -> None:
    size = 128 << 20
    script = tmp_path / "tree.py"  # a file, so that spawned workers can import `hold`
    script.write_text(TREE.replace("SIZE", str(size)))
    tree = subprocess.Popen(
        [sys.executable, script], stdout=subprocess.PIPE, start_new_session=True
    )
    assert tree.stdout is not None
    try:
        ready, _, _ = select.select([tree.stdout], [], [], TIMEOUT)
        assert ready, "the process tree did not start its workers"
        assert tree.stdout.readline() == b"ready\n"
        # Measured from here: memory earlier tests let go of may still be
        # going (couriers drop their copies a moment later).
        holding = shmem_kib()
    finally:
        os.killpg(tree.pid, signal.SIGKILL)
        tree.wait(TIMEOUT)
        tree.stdout.close()
    gone = wait_for(lambda: holding - shmem_kib() > (size >> 10) * 0.9)
    assert gone, "the object's memory stayed"


def rebuild_and_reply(requests: ms.Queue, replies: ms.Queue) -> None:
    ref, table = requests.get()
    replies.put((ref.get()["values"].sum(), table.num_rows, table))


@pytest.mark.parametrize("method", START_METHODS)
def test_refs_and_shared_tables_travel_through_a_memshare_queue(method: str) -> None:
    ctx = multiprocessing.get_context(method)
    requests, replies = ms.Queue(), ms.Queue()
    ref = ms.put({"values": np.ones(1 << 20)})
    table = ms.share(pa.table({"x": np.arange(1 << 16)}))
    worker = ctx.Process(target=rebuild_and_reply, args=(requests, replies))
    worker.start()
    requests.put((ref, table))
    total, rows, back = replies.get(timeout=TIMEOUT)
    worker.join(TIMEOUT)
    assert (total, rows) == (1 << 20, 1 << 16)
    assert back.equals(table)
    mine, theirs = (t.column(0).chunk(0).buffers()[1].address for t in (table, back))
    assert mine == theirs  # the same memory, not a copy
