"""Small HTML tables for Jupyter's rich display (``_repr_html_``)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

_LEVELS = " ▁▂▃▄▅▆▇█"


def table(
    caption: str, headers: Sequence[str], rows: Iterable[Sequence[object]]
) -> str:
    """An HTML table; every value is escaped."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(str(value))}</td>" for value in row)
        + "</tr>"
        for row in rows
    )
    return (
        f"<table><caption>{html.escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def residency_strip(
    resident: Sequence[bool] | npt.NDArray[np.bool_], cells: int = 64
) -> str:
    """One character per group of pages, from ' ' (none in memory) to '█'
    (all), at most `cells` of them."""
    pages = np.asarray(resident, dtype=bool)
    if pages.size == 0:
        return ""
    per_cell = -(-pages.size // cells)  # ceiling
    marks = "".join(
        _LEVELS[round(float(pages[i : i + per_cell].mean()) * (len(_LEVELS) - 1))]
        for i in range(0, pages.size, per_cell)
    )
    return f"<code title='pages in memory'>[{html.escape(marks)}]</code>"


def size(nbytes: int) -> str:
    """`nbytes` in the largest unit that keeps it at or above 1."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"
