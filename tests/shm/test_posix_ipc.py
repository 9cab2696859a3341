"""memshare.NamedSemaphore (sem_open) and MessageQueue (mq_open): made,
opened by name in other processes, waited on, and removed."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from channels import CHANNELS, name_of
from support import START_METHODS, interrupt_waiting

import memshare as ms

TIMEOUT = 60


@pytest.fixture
def semaphore() -> Iterator[ms.NamedSemaphore]:
    made = ms.NamedSemaphore(create=True, value=0)
    yield made
    made.unlink()


@pytest.fixture
def messages() -> Iterator[ms.MessageQueue]:
    made = ms.MessageQueue(create=True, max_messages=4, max_message_size=128)
    yield made
    made.unlink()


# -- NamedSemaphore ----------------------------------------------------------------------------


def test_a_named_semaphore_lives_in_dev_shm_until_unlinked() -> None:
    made = ms.NamedSemaphore(create=True, value=3)
    assert os.path.exists(f"/dev/shm/sem.{made.name}")
    again = ms.NamedSemaphore(made.name)
    assert again.get_value() == 3
    with pytest.raises(FileExistsError):
        ms.NamedSemaphore(made.name, create=True)
    made.unlink()
    assert not os.path.exists(f"/dev/shm/sem.{made.name}")
    assert again.acquire(False) is True  # those who have it open keep it
    again.close()
    with pytest.raises(FileNotFoundError):
        ms.NamedSemaphore(made.name)


def test_a_named_semaphore_counts_as_threading(semaphore: ms.NamedSemaphore) -> None:
    assert semaphore.acquire(False) is False
    start = time.monotonic()
    assert semaphore.acquire(timeout=0.1) is False
    assert time.monotonic() - start >= 0.09
    semaphore.release(2)
    assert semaphore.get_value() == 2
    with semaphore:
        assert semaphore.get_value() == 1
    assert semaphore.acquire() is True
    threading.Timer(0.1, semaphore.release).start()
    assert semaphore.acquire(timeout=TIMEOUT) is True  # woken by the release


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: ms.NamedSemaphore("a/b", create=True), ValueError, "'/'"),
        (lambda: ms.NamedSemaphore("", create=True), ValueError, "empty"),
        (lambda: ms.NamedSemaphore("x" * 300, create=True), ValueError, "NAME_MAX"),
        (lambda: ms.NamedSemaphore(), ValueError, "create=True"),
        (lambda: ms.NamedSemaphore(create=True, value=-1), ValueError, "from 0"),
        (lambda: ms.NamedSemaphore(3, create=True), TypeError, "str or bytes"),  # type: ignore[arg-type]
    ],
)
def test_bad_semaphores_are_refused(
    make: Callable[[], Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        make()


def test_a_closed_semaphore_refuses_use(semaphore: ms.NamedSemaphore) -> None:
    opened = ms.NamedSemaphore(semaphore.name)
    opened.close()
    opened.close()  # twice is harmless
    assert opened.closed
    with pytest.raises(ValueError, match="closed"):
        opened.acquire(False)
    with pytest.raises(ValueError, match="closed"):
        opened.release()


def test_a_semaphore_a_thread_waits_on_cannot_be_closed(
    semaphore: ms.NamedSemaphore,
) -> None:
    waiter = threading.Thread(target=lambda: semaphore.acquire(timeout=TIMEOUT))
    waiter.start()
    time.sleep(0.1)
    with pytest.raises(BufferError, match="waits on it"):
        semaphore.close()
    semaphore.release()
    waiter.join(TIMEOUT)
    semaphore.close()


def take_from(semaphore: Any) -> bool:
    return semaphore.acquire(timeout=TIMEOUT)


@pytest.mark.parametrize("method", START_METHODS)
@pytest.mark.parametrize("channel", CHANNELS, ids=name_of)
def test_a_named_semaphore_reaches_other_processes_by_name(
    semaphore: ms.NamedSemaphore, method: str, channel: Callable[..., Any]
) -> None:
    semaphore.release()
    assert channel(multiprocessing.get_context(method), take_from, semaphore) is True
    assert semaphore.get_value() == 0  # the other process took it


def test_pickle_sends_a_named_semaphore_by_name(semaphore: ms.NamedSemaphore) -> None:
    back = pickle.loads(pickle.dumps(semaphore))
    assert back.name == semaphore.name
    semaphore.release()
    assert back.acquire(False) is True
    back.close()


def test_ctrl_c_interrupts_acquire(semaphore: ms.NamedSemaphore) -> None:
    line, elapsed = interrupt_waiting(semaphore, "acquire")
    assert line.startswith("interrupted")
    assert elapsed < 1


# -- MessageQueue ------------------------------------------------------------------------------


def test_messages_come_out_highest_priority_first(messages: ms.MessageQueue) -> None:
    for text, priority in [(b"low", 1), (b"high", 9), (b"mid", 5), (b"low too", 1)]:
        messages.send(text, priority)
    assert messages.qsize() == 4
    assert [messages.receive() for _ in range(4)] == [
        (b"high", 9),
        (b"mid", 5),
        (b"low", 1),
        (b"low too", 1),
    ]
    assert messages.max_messages == 4
    assert messages.max_message_size == 128


def test_full_and_empty_queues_raise_as_queue_does(messages: ms.MessageQueue) -> None:
    with pytest.raises(queue.Empty):
        messages.receive(block=False)
    start = time.monotonic()
    with pytest.raises(queue.Empty):
        messages.receive(timeout=0.1)
    assert time.monotonic() - start >= 0.09
    for _ in range(4):
        messages.send(bytearray(b"x"))
    with pytest.raises(queue.Full):
        messages.send(b"y", block=False)
    with pytest.raises(queue.Full):
        messages.send(b"y", timeout=0.05)
    threading.Timer(0.1, messages.receive).start()
    messages.send(memoryview(b"z"), timeout=TIMEOUT)  # room made by the receive


@pytest.mark.parametrize(
    ("use", "error", "message"),
    [
        (lambda q: q.send(b"x" * 129), ValueError, "longer than"),
        (lambda q: q.send(b"x", priority=32768), ValueError, "priority"),
        (lambda q: q.send("text"), TypeError, "bytes-like"),
        (lambda q: q.receive(timeout="1"), TypeError, "timeout"),
    ],
)
def test_bad_messages_are_refused(
    messages: ms.MessageQueue,
    use: Callable[[Any], Any],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        use(messages)


def test_bad_queues_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        ms.MessageQueue(create=True, max_messages=0)
    with pytest.raises(OSError, match="msg_max"):
        ms.MessageQueue(create=True, max_messages=1 << 30)
    with pytest.raises(FileNotFoundError):
        ms.MessageQueue("memshare-test-no-such-queue")


def answer(messages: Any) -> tuple[bytes, int]:
    got = messages.receive(timeout=TIMEOUT)
    messages.send(got[0].upper(), got[1] + 1)
    return got


@pytest.mark.parametrize("method", START_METHODS)
@pytest.mark.parametrize("channel", CHANNELS, ids=name_of)
def test_a_queue_reaches_other_processes_by_name(
    messages: ms.MessageQueue, method: str, channel: Callable[..., Any]
) -> None:
    messages.send(b"ping", 3)
    assert channel(multiprocessing.get_context(method), answer, messages) == (
        b"ping",
        3,
    )
    assert messages.receive(timeout=TIMEOUT) == (b"PING", 4)


def test_a_closed_queue_refuses_use(messages: ms.MessageQueue) -> None:
    with ms.MessageQueue(messages.name) as opened:
        opened.send(b"x")
    assert opened.closed
    with pytest.raises(ValueError, match="closed"):
        opened.send(b"y")
    assert messages.receive() == (b"x", 0)


def test_ctrl_c_interrupts_receive(messages: ms.MessageQueue) -> None:
    line, elapsed = interrupt_waiting(messages, "receive")
    assert line.startswith("interrupted")
    assert elapsed < 1
