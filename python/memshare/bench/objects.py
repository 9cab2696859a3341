"""Hand a DataFrame or an Arrow table to a Pool worker (where pandas and
pyarrow are installed).

Three ways, the worker reading the first and last value, so the time is the
hand-off itself: pickling the object (what the obvious code does); the
object made by ``ms.share``, sent as it is (its buffers go as handles); and
the ``ms.ObjectRef`` of ``ms.put``, the worker calling ``get()``.  Then what
placing the object in shared memory costs once: ``ms.put`` against
``pickle.dumps`` at protocol 5 with its buffers out of band (the least
pickling can do), both writing the data once.
"""

from __future__ import annotations

import importlib.util
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np

import memshare as ms

from . import Comparison, against, interleaved, median_times
from .handoff import Work, time_hand_offs

__all__ = ["run"]


def frame_corners(frame: Any) -> float:
    return float(frame.iat[0, 0] + frame.iat[-1, -1])


def table_corners(table: Any) -> float:
    column = table.column(table.num_columns - 1)
    return float(table.column(0)[0].as_py() + column[len(column) - 1].as_py())


def corners_of_ref(corners: Callable[[Any], float], ref: ms.ObjectRef) -> float:
    return corners(ref.get())


def _frame(size: int) -> Any:
    import pandas as pd

    rows = size // 64
    return pd.DataFrame({f"c{i}": np.ones(rows) for i in range(8)})


def _table(size: int) -> Any:
    import pyarrow as pa

    rows = size // 64
    return pa.table({f"c{i}": np.ones(rows) for i in range(8)})


def _works(obj: Any, corners: Callable[[Any], float]) -> dict[str, Work]:
    return {
        "pickling": (corners, (obj,)),
        "ms.share": (corners, (ms.share(obj),)),
        "ms.put": (corners_of_ref, (corners, ms.put(obj))),
    }


def _put_cost(obj: Any, repeat: int) -> dict[str, float]:
    def dumps() -> None:
        buffers: list[pickle.PickleBuffer] = []
        data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
        copies = [bytearray(buffer.raw()) for buffer in buffers]  # one write each
        del data, copies

    return median_times(
        interleaved({"pickle.dumps": dumps, "ms.put": lambda: ms.put(obj)}, repeat)
    )


def run(quick: bool, method: str = "spawn") -> list[Comparison]:
    found = [
        name for name in ("pandas", "pyarrow") if importlib.util.find_spec(name) is None
    ]
    if found:
        print(f"  objects: skipped ({' and '.join(found)} not installed)")
        return []
    size, repeat, rounds = (256 << 20, 2, 30) if quick else (1 << 30, 3, 100)
    rows: list[Comparison] = []
    for label, make, corners in (
        ("DataFrame", _frame, frame_corners),
        ("Arrow table", _table, table_corners),
    ):
        obj = make(size)
        works = _works(obj, corners)
        medians = median_times(time_hand_offs(works, method, repeat, rounds))
        del works
        case = f"hand a {size >> 20} MiB {label} to a worker ({method})"
        rows += against(f"{case}, made by ms.share", medians, "ms.share", ["pickling"])
        rows += against(f"{case}, as ms.put's ref", medians, "ms.put", ["pickling"])
        cost = _put_cost(obj, repeat)
        rows += against(f"place a {size >> 20} MiB {label} in memory", cost, "ms.put")
    return rows
