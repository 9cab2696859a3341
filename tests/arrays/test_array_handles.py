"""Damaged and forged handles of shared arrays, received by real processes:
each field is checked before it is used, so that the receiver gets a
ValueError and lives, whatever the bytes say."""

from __future__ import annotations

import concurrent.futures
import errno
import multiprocessing
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import in_child

import memshare as ms
from memshare.arrays import pickling

# The positions of the rebuild arguments in a handle.
REFERENCE, LENGTH, OFFSET, SHAPE, STRIDES, DTYPE, READONLY = range(7)


def handle_of(array: np.ndarray[Any, Any]) -> list[Any]:
    rebuild, arguments = pickling.reduce_ndarray(array)
    assert rebuild is pickling.rebuild_ndarray
    return list(arguments)


def with_field(handle: list[Any], index: int, value: Any) -> tuple[Any, ...]:
    changed = list(handle)
    changed[index] = value
    return tuple(changed)


def with_offer(handle: list[Any], index: int, value: Any) -> tuple[Any, ...]:
    (offer, identity) = handle[REFERENCE]
    changed = list(offer)
    changed[index] = value
    return with_field(handle, REFERENCE, (tuple(changed), identity))


def outcome(arguments: tuple[Any, ...]) -> tuple[str, str]:
    """What receiving `arguments` does here: the array's sum, or the error."""
    try:
        array = pickling.rebuild_ndarray(*arguments)
    except Exception as error:  # noqa: BLE001 - reported to the test
        return type(error).__name__, str(error)
    return "array", str(float(array.sum()))


@pytest.fixture(scope="module")
def spawned() -> Iterator[concurrent.futures.ProcessPoolExecutor]:
    """A receiver that shares nothing with this process: it maps what it gets
    from the sender's courier or /proc, and a crash breaks the pool."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        yield pool


LAYOUT_DAMAGE: dict[str, Callable[[list[Any]], tuple[Any, ...]]] = {
    "an object dtype": lambda h: with_field(h, DTYPE, "O"),
    "a record with an object": lambda h: with_field(h, DTYPE, [("a", "O")]),
    "no dtype": lambda h: with_field(h, DTYPE, "not a dtype"),
    "a negative size": lambda h: with_field(h, SHAPE, (-1,)),
    "a stride below the memory": lambda h: with_field(
        with_field(with_field(h, SHAPE, (2,)), STRIDES, (-8,)), OFFSET, 0
    ),
    "a negative offset": lambda h: with_field(h, OFFSET, -8),
    "an offset past the end": lambda h: with_field(h, OFFSET, 1 << 40),
    "more elements than memory": lambda h: with_field(
        with_field(h, SHAPE, (1 << 20,)), STRIDES, (8,)
    ),
    "a huge stride": lambda h: with_field(
        with_field(h, SHAPE, (3,)), STRIDES, (1 << 62,)
    ),
    "strides of another rank": lambda h: with_field(h, STRIDES, (8, 8)),
    "a shape that is no tuple": lambda h: with_field(h, SHAPE, "16"),
    "no length": lambda h: with_field(h, LENGTH, 0),
    "a length that is no int": lambda h: with_field(h, LENGTH, "4096"),
    "a length beyond the memory": lambda h: with_field(h, LENGTH, h[LENGTH] * 4),
    "an identity of one part": lambda h: with_field(h, REFERENCE, (h[0][0], (1,))),
    "a negative identity": lambda h: with_field(h, REFERENCE, (h[0][0], (-1, 2))),
    "no reference": lambda h: with_field(h, REFERENCE, None),
}

OFFER_DAMAGE: dict[str, Callable[[list[Any]], tuple[Any, ...]]] = {
    "an address longer than sun_path": lambda h: with_offer(
        h, 0, b"memshare-courier-1-" + b"a" * 300
    ),
    "an address of a file": lambda h: with_offer(h, 0, b"/tmp/socket"),
    "an address with a bad salt": lambda h: with_offer(h, 0, h[0][0][0][:-1] + b"z"),
    "an empty address": lambda h: with_offer(h, 0, b""),
    "a short token": lambda h: with_offer(h, 1, b"short"),
    "a token that is no bytes": lambda h: with_offer(h, 1, 7),
    "pid 0": lambda h: with_offer(h, 2, 0),
    "a negative descriptor": lambda h: with_offer(h, 3, -1),
}


@pytest.mark.parametrize("damage", LAYOUT_DAMAGE, ids=str)
def test_a_damaged_layout_is_a_value_error(
    damage: str, spawned: concurrent.futures.ProcessPoolExecutor, shm_name: str
) -> None:
    named = ms.array(np.arange(16.0), name=shm_name)
    for array in (ms.array(np.arange(16.0)), named):
        handle = handle_of(array)
        arguments = LAYOUT_DAMAGE[damage](handle)
        kind, message = spawned.submit(outcome, arguments).result(timeout=60)
        assert (kind, "damaged") == ("ValueError", "damaged"), message
        assert "handle is damaged" in message
        # And in a forked child, which has the memory mapped already.
        with pytest.raises(ValueError, match="handle is damaged"):
            in_child(lambda arguments=arguments: pickling.rebuild_ndarray(*arguments))
    del named


@pytest.mark.parametrize("damage", OFFER_DAMAGE, ids=str)
def test_a_damaged_offer_is_a_value_error(
    damage: str, spawned: concurrent.futures.ProcessPoolExecutor
) -> None:
    array = ms.array(np.arange(16.0))
    arguments = OFFER_DAMAGE[damage](handle_of(array))
    kind, message = spawned.submit(outcome, arguments).result(timeout=60)
    assert kind == "ValueError", message
    with pytest.raises(ValueError, match="damaged"):
        in_child(lambda: pickling.rebuild_ndarray(*arguments))
    # The sender's handles work as before.
    assert spawned.submit(outcome, tuple(handle_of(array))).result(60) == (
        "array",
        "120.0",
    )


def test_a_named_handle_to_another_segment_is_refused(
    spawned: concurrent.futures.ProcessPoolExecutor, shm_name: str
) -> None:
    small = ms.array(np.arange(4.0), name=shm_name)
    arguments = with_field(handle_of(small), LENGTH, 1 << 30)
    kind, message = spawned.submit(outcome, arguments).result(timeout=60)
    assert kind == "ValueError", message
    del small


# Each field's mutations: any value of the field's type and then some.
FIELD_VALUES = st.one_of(
    st.integers(-(1 << 64), 1 << 64),
    st.binary(max_size=200),
    st.text(max_size=20),
    st.tuples(st.integers(-(1 << 40), 1 << 40)),
    st.lists(st.integers(-64, 1 << 20), max_size=3).map(tuple),
    st.none(),
    st.sampled_from(["O", "V8", "<f8", "u1", "S0", [("a", "<i4")]]),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    field=st.sampled_from(range(6)),
    value=FIELD_VALUES,
    offer_part=st.sampled_from(range(4)),
)
def test_fuzzed_handles_raise_value_errors_or_give_the_array(
    field: int, value: Any, offer_part: int, spawned: Any
) -> None:
    array = ms.array(np.arange(512, dtype=np.uint8))
    handle = handle_of(array)
    if field == REFERENCE:
        arguments = with_offer(handle, offer_part, value)
    else:
        arguments = with_field(handle, field, value)
    kind, message = spawned.submit(outcome, arguments).result(timeout=60)
    # A forged token or descriptor is known false only by the sender's
    # courier, which says it has no such offer (as for a handle received
    # twice), or finds other memory behind the descriptor.
    known = {"ValueError", "array", "FileNotFoundError"}
    assert kind in known or (kind == "OSError" and "courier" in message), message
    if kind == "FileNotFoundError":
        assert str(errno.ENOENT) in message or "courier" in message
