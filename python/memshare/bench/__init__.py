"""``python -m memshare bench``: memshare against what users would pick
instead, side by side in one run on one machine.

Each case module has ``run(quick) -> list[Comparison]``; the cases run one
after another, and within a case the contenders run interleaved, several
times each, so that a slow moment of the machine falls on all of them.  The
table gives medians and memshare's over each alternative's (below 1,
memshare is faster or smaller).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial

__all__ = [
    "Comparison",
    "against",
    "alternating",
    "interleaved",
    "median_times",
    "seconds",
]


@dataclass(frozen=True)
class Comparison:
    """One row: memshare and one alternative on one case."""

    case: str
    alternative: str
    theirs: float
    ours: float
    unit: str  # "s" for times; "x array" for memory over the array's size

    @property
    def ratio(self) -> float:
        return self.ours / self.theirs


def alternating(
    measures: Mapping[str, Callable[[], float]], repeat: int
) -> dict[str, list[float]]:
    """What each contender's measure gives, `repeat` times, in turns that
    alternate which goes first."""
    found: dict[str, list[float]] = {name: [] for name in measures}
    names = list(measures)
    for _ in range(repeat):
        for name in names:
            found[name].append(measures[name]())
        names.reverse()
    return found


def seconds(call: Callable[[], object]) -> float:
    """How long `call()` takes."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def interleaved(
    contenders: Mapping[str, Callable[[], object]], repeat: int
) -> dict[str, list[float]]:
    """Seconds each contender takes, `repeat` times, in turns that alternate
    which goes first."""
    return alternating(
        {name: partial(seconds, call) for name, call in contenders.items()}, repeat
    )


def median_times(times: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(runs) for name, runs in times.items()}


def against(
    case: str,
    medians: dict[str, float],
    ours: str,
    alternatives: Iterable[str] | None = None,
    unit: str = "s",
) -> list[Comparison]:
    """memshare's median (`ours`) against each of `alternatives` (every
    other contender if None)."""
    names = (
        [name for name in medians if name != ours]
        if alternatives is None
        else alternatives
    )
    return [
        Comparison(case, name, medians[name], medians[ours], unit) for name in names
    ]
