"""Memory of shared arrays kept for reuse, and given back on request.

New shared memory costs a page fault per page at first touch.  The memory of
arrays this process let go of is kept for a moment (16 segments at most, an
eighth of the RAM and no more than 4 GiB, for up to five seconds) and
becomes the memory of its next array of about that size, once no other
process can reach it (see ``arrays/array_memory.hpp``).  Memory received from other
processes is kept for a second (see ``arrays/parked_segments.hpp``).
"""

from __future__ import annotations

from .. import _core

__all__ = ["release_unused"]


def release_unused() -> int:
    """Unmap now the shared memory this process keeps for reuse (arrays it
    let go of, and segments received from other processes); returns how
    many bytes it let go of.  The kernel frees them once no other process
    maps them."""
    return int(_core.release_kept_segments())
