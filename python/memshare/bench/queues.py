"""Queues between processes: ms.Queue against multiprocessing.Queue, and
faster-fifo where it is installed.

- a round trip: this process puts an item, a spawn process gets it and
  puts it into a second queue, this process gets it back; a small item
  (a tuple of an int and a short string) and an 8 MiB array;
- throughput: 4 producers put small items, 4 consumers get them, all spawn
  processes; the time from the producers' start to the consumers' end, per
  item.  Then the same in batches (put_many/get_many), which
  multiprocessing.Queue has not.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import multiprocessing.queues
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

import memshare as ms

from . import Comparison, against, alternating, median_times

SMALL = (12345, "a short string")
BATCH = 64  # items per put_many and get_many
PARTIES = 4  # producers, and consumers

MakeQueue = Callable[[], Any]


def _spawn() -> Any:
    return multiprocessing.get_context("spawn")


def contenders() -> dict[str, MakeQueue]:
    """The queues to compare, each big enough for an 8 MiB array."""
    found: dict[str, MakeQueue] = {"multiprocessing.Queue": lambda: _spawn().Queue()}
    if importlib.util.find_spec("faster_fifo") is not None:
        from faster_fifo import Queue as FasterFifo

        found["faster-fifo"] = lambda: FasterFifo(max_size_bytes=32 << 20)
    found["memshare"] = ms.Queue
    return found


def echo(requests: Any, replies: Any) -> None:
    while (item := requests.get(timeout=600)) is not None:
        replies.put(item)


def round_trip(make: MakeQueue, item: object, rounds: int) -> float:
    """Seconds per round trip of `item` to a spawn process and back."""
    requests, replies = make(), make()
    other = _spawn().Process(target=echo, args=(requests, replies))
    other.start()
    for _ in range(3):  # the other process is up, and both have warmed up
        requests.put(item)
        replies.get(timeout=600)
    start = time.perf_counter()
    for _ in range(rounds):
        requests.put(item)
        replies.get(timeout=600)
    elapsed = time.perf_counter() - start
    requests.put(None)
    other.join()
    return elapsed / rounds


def produce(q: Any, meet: ms.Barrier, count: int, batch: int) -> None:
    meet.wait()  # all are up: go
    if batch == 1:
        for _ in range(count):
            q.put(SMALL)
    else:
        for _ in range(count // batch):
            q.put_many([SMALL] * batch, timeout=600)
    if isinstance(q, multiprocessing.queues.Queue):
        q.close()  # put() only hands items to a thread: all in the pipe now
        q.join_thread()
    meet.wait()  # all produced


def consume(q: Any, meet: ms.Barrier, batch: int, many: str) -> None:
    """Gets until a None comes, one at a time or up to `batch` at a time
    (`many`: the name of get_many's bound)."""
    meet.wait()
    if batch == 1:
        while q.get(timeout=600) is not None:
            pass
    else:
        while None not in (items := q.get_many(timeout=600, **{many: batch})):
            pass
        for _ in range(items.count(None) - 1):
            q.put(None)  # another consumer's
    meet.wait()  # all consumed


def throughput(name: str, make: MakeQueue, items: int, batch: int) -> float:
    """Seconds per item through one queue, PARTIES producers to PARTIES
    consumers: from their start to the last item taken (not counting the
    processes' own start and end)."""
    q, spawn = make(), _spawn()
    producers, consumers = ms.Barrier(PARTIES + 1), ms.Barrier(PARTIES + 1)
    many = "max_items" if name == "memshare" else "max_messages_to_get"
    per_producer = items // PARTIES // batch * batch
    processes = [
        spawn.Process(target=produce, args=(q, producers, per_producer, batch))
        for _ in range(PARTIES)
    ] + [
        spawn.Process(target=consume, args=(q, consumers, batch, many))
        for _ in range(PARTIES)
    ]
    for process in processes:
        process.start()
    consumers.wait()  # they are up
    producers.wait()
    start = time.perf_counter()
    producers.wait()
    for _ in range(PARTIES):
        q.put(None)  # each consumer ends at the None it gets
    consumers.wait()
    elapsed = time.perf_counter() - start
    for process in processes:
        process.join()
    return elapsed / (per_producer * PARTIES)


def _measure(
    queues: dict[str, MakeQueue],
    repeat: int,
    work: Callable[[str, MakeQueue], float],
) -> dict[str, float]:
    """The median of `work` for each queue, the queues taking turns."""
    return median_times(
        alternating(
            {name: partial(work, name, make) for name, make in queues.items()}, repeat
        )
    )


def run(quick: bool) -> list[Comparison]:
    repeat, rounds, big_rounds, items = (
        (1, 2000, 20, 20_000) if quick else (3, 20_000, 100, 100_000)
    )
    queues = contenders()
    big = np.ones(1 << 20)  # 8 MiB
    small = _measure(queues, repeat, lambda _, make: round_trip(make, SMALL, rounds))
    large = _measure(queues, repeat, lambda _, make: round_trip(make, big, big_rounds))
    single = _measure(
        queues, repeat, lambda name, make: throughput(name, make, items, 1)
    )
    batched = {"multiprocessing.Queue": single["multiprocessing.Queue"]}
    batched |= _measure(
        {
            name: make
            for name, make in queues.items()
            if name != "multiprocessing.Queue"
        },
        repeat,
        lambda name, make: throughput(name, make, items, BATCH),
    )
    case = f"{PARTIES} producers x {PARTIES} consumers, small items, per item"
    return (
        against("small item round trip (spawn)", small, "memshare")
        + against("8 MiB array round trip (spawn)", large, "memshare")
        + against(case, single, "memshare")
        + against(
            f"the same, in batches of {BATCH} (put_many/get_many)", batched, "memshare"
        )
    )
