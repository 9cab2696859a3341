"""Any object in shared memory: :func:`put` places an object's pickle and
its out-of-band buffers (NumPy, pandas, Arrow data) in one shared segment
and returns an :class:`ObjectRef`, a handle that rebuilds the object over
that memory in any process; :func:`share` gives the rebuilt object at
once."""

from .refs import ObjectRef, put, share

__all__ = ["ObjectRef", "put", "share"]
