"""Every way multiprocessing and concurrent.futures hand a value to another
process: each channel runs ``work(value)`` there and returns its result."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

TIMEOUT = 60

Work = Callable[[Any], Any]


def _reply_through(conn: Connection, work: Work, value: Any) -> None:
    conn.send(work(value))


def _serve_queue(work: Work, requests: Any, replies: Any) -> None:
    replies.put(work(requests.get()))  # and exits at once


def _serve_pipe(work: Work, conn: Connection) -> None:
    conn.send(work(conn.recv()))


def via_process_arguments(ctx: Any, work: Work, value: Any) -> Any:
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_reply_through, args=(child, work, value))
    process.start()
    assert parent.poll(TIMEOUT)
    reply = parent.recv()
    process.join(TIMEOUT)
    return reply


def via_queue(ctx: Any, work: Work, value: Any) -> Any:
    requests, replies = ctx.Queue(), ctx.Queue()
    process = ctx.Process(target=_serve_queue, args=(work, requests, replies))
    process.start()
    requests.put(value)
    reply = replies.get(timeout=TIMEOUT)
    process.join(TIMEOUT)
    return reply


def via_pipe(ctx: Any, work: Work, value: Any) -> Any:
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_serve_pipe, args=(work, child))
    process.start()
    parent.send(value)
    assert parent.poll(TIMEOUT)
    reply = parent.recv()
    process.join(TIMEOUT)
    return reply


def via_pool_map(ctx: Any, work: Work, value: Any) -> Any:
    with ctx.Pool(2) as pool:
        return pool.map(work, [value])[0]


def via_pool_imap(ctx: Any, work: Work, value: Any) -> Any:
    with ctx.Pool(2) as pool:
        return next(pool.imap(work, [value]))


def via_pool_apply_async(ctx: Any, work: Work, value: Any) -> Any:
    with ctx.Pool(1, maxtasksperchild=1) as pool:  # the worker ends after the task
        return pool.apply_async(work, (value,)).get(TIMEOUT)


def via_executor(ctx: Any, work: Work, value: Any) -> Any:
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as executor:
        return executor.submit(work, value).result(TIMEOUT)


CHANNELS = [
    via_process_arguments,
    via_queue,
    via_pipe,
    via_pool_map,
    via_pool_imap,
    via_pool_apply_async,
    via_executor,
]


def name_of(channel: Callable[..., Any]) -> str:
    """The channel's name for test ids: "queue" for via_queue."""
    return channel.__name__.removeprefix("via_")
