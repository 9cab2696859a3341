"""Shared arrays sent to real processes, under fork, spawn and forkserver,
through every channel multiprocessing and concurrent.futures offer: the
receiver maps the same memory, writes are seen both ways, results come back
by handle, and handles stay small."""

from __future__ import annotations

import multiprocessing
import os
import resource
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from channels import CHANNELS, name_of
from support import START_METHODS, helper_of, in_child, shmem_kib, wait_for

import memshare as ms
from memshare import _core
from memshare.arrays import pickling

TIMEOUT = 60
STRUCTURED = np.dtype([("id", "<i8"), ("pos", "<f4", (3,))])
Arrays = dict[str, np.ndarray[Any, Any]]


def arrays(named: str) -> tuple[Arrays, Arrays]:
    """Bases, and the views of them to send: every layout worth sending."""
    plain, fortran = ms.zeros((8, 6)), ms.zeros((8, 6), order="F")
    records, named_array = ms.zeros(10, STRUCTURED), ms.zeros((8, 6), name=named)
    bases = {
        "plain": plain,
        "fortran": fortran,
        "records": records,
        "named": named_array,
    }
    views = {
        "whole": plain,
        "slice": plain[2:5],
        "strided": plain[::2, 1::3],
        "transposed": plain.T,
        "fortran": fortran[:, 1:],
        "records": records[::3],
        "named": named_array[1:, :2],
    }
    return bases, views


def touch(views: Arrays) -> tuple[dict[str, bool], np.ndarray[Any, Any], Arrays]:
    """What a worker does: say whether each array is shared, write to it, and
    send back a new shared array and a view of each."""
    shared = {key: ms.is_shared(view) for key, view in views.items()}
    for key, view in views.items():
        if key == "records":
            view["id"] = 7
        else:
            view[...] = 7
    return shared, ms.full(3, 42.0), {key: view[:1] for key, view in views.items()}


def check(bases: Arrays, views: Arrays, reply: Any) -> None:
    shared, result, back = reply
    assert shared == dict.fromkeys(views, True)
    for key, view in views.items():
        assert (view["id"] if key == "records" else view).min() == 7
        assert np.shares_memory(back[key], view), f"{key} came back as a copy"
    # Bytes outside every view were left alone.
    assert bases["fortran"][0, 0] == 0
    assert bases["records"]["id"][1] == 0
    assert bases["named"][0, 0] == 0
    np.testing.assert_array_equal(result, [42, 42, 42])
    assert ms.is_shared(result)


# -- the channels --------------------------------------------------------------------------


@pytest.mark.parametrize("method", START_METHODS)
@pytest.mark.parametrize("channel", CHANNELS, ids=name_of)
def test_arrays_travel_by_handle(
    channel: Callable[..., Any], method: str, shm_name: str
) -> None:
    bases, views = arrays(shm_name)
    check(bases, views, channel(multiprocessing.get_context(method), touch, views))


def test_handles_are_small() -> None:
    big = ms.zeros((2048, 2048))  # 32 MiB: the handle does not grow with it
    for view in (big, big[::5, 3:], big.T, big[7]):
        handle = ForkingPickler.dumps(view)
        assert len(handle) < 1024
        back = ForkingPickler.loads(handle)
        assert np.shares_memory(back, big)


def test_once_the_sender_let_go_the_courier_hands_an_array_out_once() -> None:
    array = ms.full(4, 2.0)
    handle = ForkingPickler.dumps(array[1:])
    del array
    ms.release_unused()  # the sender's descriptor closes: only the courier has it
    back = ForkingPickler.loads(handle)
    np.testing.assert_array_equal(back, [2.0, 2.0, 2.0])
    del back  # kept: mapped a moment longer, so the handle still finds it
    np.testing.assert_array_equal(ForkingPickler.loads(handle), [2.0, 2.0, 2.0])
    ms.release_unused()
    with pytest.raises(OSError, match="received once"):
        ForkingPickler.loads(handle)


def test_the_courier_keeps_one_copy_of_a_segment_until_every_handle_is_received() -> (
    None
):
    ForkingPickler.loads(ForkingPickler.dumps(ms.zeros(1)))  # a courier started
    courier = helper_of("memshare-courier", os.getpid())

    def copies() -> int:
        return len(os.listdir(f"/proc/{courier}/fd"))

    def settles_at(expected: int) -> bool:
        return wait_for(lambda: copies() == expected)

    # Once the courier has read everything (it reads at most every 10 ms).
    before, previous = copies(), -1
    while before != previous:
        time.sleep(0.05)
        before, previous = copies(), before
    arrays = [ms.full(8, float(i)) for i in range(20)]
    handles = [ForkingPickler.dumps(a[i:]) for a in arrays for i in range(5)]
    assert settles_at(before + len(arrays))  # one copy each, however often sent
    del arrays  # the sender lets go with 100 handles on their way
    time.sleep(0.05)
    assert copies() == before + 20
    received = [ForkingPickler.loads(handle) for handle in handles]
    assert [float(r[-1]) for r in received] == [i for i in range(20) for _ in range(5)]
    assert settles_at(before)  # all received: the courier let go


def check_readonly(view: np.ndarray[Any, Any]) -> bool:
    return bool(view.flags.writeable)


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_read_only_arrays_stay_read_only(method: str) -> None:
    a = ms.zeros(10)
    view = a[2:]
    view.flags.writeable = False
    with multiprocessing.get_context(method).Pool(1) as pool:
        assert pool.apply(check_readonly, (view,)) is False
        assert pool.apply(check_readonly, (a,)) is True


# -- the sender's end ---------------------------------------------------------------------------


def send_new_array_and_exit(
    replies: Any, kill_courier: bool, named: str | None
) -> None:
    replies.put(ms.full((4, 4), 5.0, name=named)[1:])
    if kill_courier:
        replies.close()
        replies.join_thread()
        os.kill(helper_of("memshare-courier", os.getpid()), signal.SIGKILL)


@pytest.mark.parametrize("named_array", [False, True], ids=["anonymous", "named"])
def test_an_array_outlives_the_process_that_sent_it(
    named_array: bool, shm_name: str
) -> None:
    ctx = multiprocessing.get_context("spawn")
    replies = ctx.Queue()
    sender = ctx.Process(
        target=send_new_array_and_exit,
        args=(replies, False, shm_name if named_array else None),
    )
    sender.start()
    sender.join(TIMEOUT)  # gone before anything is received
    assert sender.exitcode == 0
    received = replies.get(timeout=TIMEOUT)
    assert received.shape == (3, 4)
    assert (received == 5).all()
    assert ms.is_shared(received)


def test_a_killed_courier_is_a_clear_error() -> None:
    ctx = multiprocessing.get_context("spawn")
    replies = ctx.Queue()
    sender = ctx.Process(target=send_new_array_and_exit, args=(replies, True, None))
    sender.start()
    sender.join(TIMEOUT)
    with pytest.raises(
        OSError, match="courier of the process that sent this array is gone"
    ):
        replies.get(timeout=TIMEOUT)


# -- descriptors --------------------------------------------------------------------------------


ROOM = 48  # descriptors a receiver may open beyond those it starts with


def receive_many(requests: Any, replies: Any, count: int, keep: bool) -> None:
    # A forked receiver starts with every descriptor the suite's process had.
    held = len(os.listdir("/proc/self/fd"))
    resource.setrlimit(resource.RLIMIT_NOFILE, (held + ROOM, held + ROOM))
    kept, total, most = [], 0.0, 0
    try:
        for _ in range(count):
            array = requests.get(timeout=TIMEOUT)
            total += float(array[0])
            if keep:
                kept.append(array)  # until a descriptor is refused
            else:
                most = max(most, len(os.listdir("/proc/self/fd")) - held)
        replies.put((total, most, ""))
    except OSError as error:
        replies.put((total, most, str(error)))


@pytest.mark.parametrize("method", START_METHODS)
def test_thousands_of_arrays_need_no_more_descriptors(method: str) -> None:
    ctx = multiprocessing.get_context(method)
    requests, replies = ctx.Queue(), ctx.Queue()
    count = 2000
    receiver = ctx.Process(target=receive_many, args=(requests, replies, count, False))
    receiver.start()
    pickling.reduce_ndarray(ms.full(16, 0.0))  # the courier runs: its socket counts
    before = len(os.listdir("/proc/self/fd"))
    for i in range(count):
        requests.put(ms.full(16, float(i)))  # each dropped once the queue sent it
    total, most, error = replies.get(timeout=TIMEOUT)
    receiver.join(TIMEOUT)
    # The sender kept none, but those it may recycle (a few, bounded).
    kept = _core.kept_segments()["recycled"]
    assert len(os.listdir("/proc/self/fd")) <= before + kept
    assert kept <= 16  # recycling_places
    assert error == ""
    assert total == sum(range(count))
    assert most < ROOM  # within the receiver's limit all along


def test_a_descriptor_limit_hit_says_which() -> None:
    ctx = multiprocessing.get_context("spawn")
    requests, replies = ctx.Queue(), ctx.Queue()
    receiver = ctx.Process(target=receive_many, args=(requests, replies, 200, True))
    receiver.start()
    kept = [ms.zeros(4) for _ in range(200)]
    for array in kept:
        requests.put(array)
    _, _, error = replies.get(timeout=TIMEOUT)
    receiver.terminate()
    receiver.join(TIMEOUT)
    assert "RLIMIT_NOFILE" in error

    def make_too_many() -> str:
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        with pytest.raises(OSError, match="RLIMIT_NOFILE, 64 descriptors") as raised:
            [ms.zeros(4) for _ in range(64)]  # each holds a descriptor
        return str(raised.value)

    assert "memfd_create" in in_child(make_too_many)


# -- a whole process tree killed ------------------------------------------------------------------


TREE = """
import multiprocessing, sys, time
import numpy as np
import memshare as ms

def hold(array, ready):
    array[-1] = 1
    ready.send("holding")
    time.sleep(600)

if __name__ == "__main__":
    ctx = multiprocessing.get_context("spawn")
    anonymous = ms.ones(SIZE // 8)
    named = ms.full(1000, 3.0, name=NAME)
    # A pipe, not a Queue: a Queue's named semaphores would outlive the SIGKILL.
    waiting, ready = ctx.Pipe(duplex=False)
    workers = [ctx.Process(target=hold, args=(anonymous[i::2], ready)) for i in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        waiting.recv()
    print(" ".join(str(w.pid) for w in workers), flush=True)
    time.sleep(600)
"""


def _segments_of_memshare() -> set[str]:
    """What /dev/shm holds that memshare could have made (other programs'
    entries, multiprocessing's semaphores among them, come and go)."""
    return {n for n in os.listdir("/dev/shm") if n.startswith(("memshare-", "ms_"))}


def test_killing_the_whole_tree_frees_anonymous_memory(
    shm_name: str, tmp_path: Path
) -> None:
    size = 256 << 20
    script = tmp_path / "tree.py"  # a file, so that spawned workers can import `hold`
    script.write_text(TREE.replace("SIZE", str(size)).replace("NAME", repr(shm_name)))
    shm_before = _segments_of_memshare()
    baseline = shmem_kib()
    tree = subprocess.Popen(
        [sys.executable, script],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert tree.stdout is not None
    ready, _, _ = select.select([tree.stdout], [], [], TIMEOUT)
    if not ready:
        os.killpg(tree.pid, signal.SIGKILL)
        tree.wait()
        pytest.fail("the process tree did not start its workers")
    workers = [int(pid) for pid in tree.stdout.readline().split()]
    assert len(workers) == 2
    assert shmem_kib() - baseline > (size >> 10) * 0.9  # resident, shared by three
    # The parent, its workers and its resource tracker, all at once.
    os.killpg(tree.pid, signal.SIGKILL)
    tree.wait(TIMEOUT)
    tree.stdout.close()
    gone = wait_for(lambda: shmem_kib() - baseline < (size >> 10) * 0.1)
    assert gone, "the anonymous memory stayed"
    # Nothing new in /dev/shm but the named array, which stays until unlinked.
    assert _segments_of_memshare() - shm_before == {shm_name}
    np.testing.assert_array_equal(ms.attach(shm_name), np.full(1000, 3.0))
    ms.unlink(shm_name)
