"""What memshare does when the memory behind a mapping goes away.

A file mapped and then truncated by another process, a ``SharedMemory``
shrunk by its creator, or a segment written when ``/dev/shm`` is full leaves
pages that no memory backs: touching one raises SIGBUS, which ends a process
using :mod:`mmap`.  memshare's SIGBUS handler puts zero-filled pages over
them instead and lets the access finish (see ``mapping/fault_shield.hpp``).  The
mapping is *damaged* from then on:

* reads of the replaced pages give zeros, and writes to them are lost (they
  reach no file);
* the thread whose access faulted gets :class:`MappingDamagedError` at the
  interpreter's next opportunity, even inside pure NumPy code: the error
  names the mapping, what shrank and how many bytes were replaced;
* memshare's own calls on the mapping (slicing, read, write, resize,
  protect, new buffers, ...) raise the same error; ``close()`` works, and
  so does every view of it until then.

Close the damaged mapping and its arrays and map the file again.
"""

from __future__ import annotations

import errno
import os

from . import _core

__all__ = ["MappingDamagedError"]


class MappingDamagedError(OSError):
    """The memory behind (part of) a mapping went away, and memshare put
    zero-filled pages in its place: reads there give zeros, writes there are
    lost.  ``errno`` is ``EFAULT``.

    Raised asynchronously in the thread whose access faulted (with no
    arguments: the message is the shield's report), and by memshare's calls
    on the damaged mapping.
    """

    def __init__(self, *args: object) -> None:
        if not args:
            args = (errno.EFAULT, _core.take_damage_report())
        super().__init__(*args)


_core.set_damage_error(MappingDamagedError)
_core.start_fault_watcher()
os.register_at_fork(after_in_child=_core.start_fault_watcher)
