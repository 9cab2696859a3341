"""memshare arrays through joblib: by handle, writable, nothing on disk.

joblib hands each NumPy array of a task to its workers through a reducer of
its own (``max_nbytes`` memmapping): arrays above 1 MB are dumped into its
temporary folder and arrive as read-only memmaps of that file, smaller ones
are pickled by value.  Either way a memshare array loses its sharing: the
worker cannot write into it, or writes into a copy.  (An ``ms.ObjectRef``
is no array, and passes through any joblib backend as its handle.)

joblib lets a backend take reducers of its own (``forward_reducers``,
``backward_reducers``), and puts its array reducer into the dictionaries it
is given.  :func:`parallel_config` and the ``"memshare"`` backend hand it
dictionaries that wrap that reducer, so that

- a memshare array (or a view of one) goes as its handle, both ways: the
  worker writes into the caller's memory, and a shared array a worker
  returns arrives by handle;
- with ``share_large=True`` (opt-in), a plain array above joblib's
  ``max_nbytes`` is copied once into shared memory instead of being dumped
  to a file: no file, nothing to clean up, writable if joblib's
  ``mmap_mode`` is ``"r+"``, ``"w+"`` or ``"c"``, read-only as joblib's
  memmaps are for its default ``"r"``;
- everything else goes as joblib sends it.

loky's workers restart when their memory (RSS) grew by 300 MB since their
first task and a garbage collection does not bring it back, and the shared
memory a worker maps counts in its RSS.  So in a worker that received
memshare's reducers, a full garbage collection also gives back the shared
memory memshare keeps mapped for reuse (:func:`memshare.release_unused`):
what the worker still uses stays, and it is not taken for a leak.
"""

from __future__ import annotations

import functools
import gc
import weakref
from typing import Any

import joblib
import numpy as np
from joblib.parallel import register_parallel_backend

try:  # where joblib keeps its backends (not re-exported)
    from joblib._parallel_backends import LokyBackend
except ImportError as error:  # pragma: no cover - a joblib too new or too old
    raise ImportError(
        f"memshare's joblib integration needs joblib's LokyBackend: {error}"
    ) from None

from ..arrays.constructors import array as shared_array
from ..arrays.constructors import is_shared
from ..arrays.pickling import reduce_ndarray
from ..arrays.recycling import release_unused

__all__ = ["MemshareBackend", "parallel_config"]

Array = np.ndarray[Any, Any]
_WRITABLE_MODES = ("r+", "w+", "c")


def _is_memmapped(a: Array) -> bool:
    """Whether `a` is a view of a ``numpy.memmap``: joblib sends those by
    file name already, without a copy."""
    base: Any = a
    while base is not None:
        if isinstance(base, np.memmap):
            return True
        base = getattr(base, "base", None)
    return False


class _ArrayReducer:
    """joblib's reducer of arrays, memshare's handles before it."""

    def __init__(self, joblibs: Any, share_large: bool) -> None:
        self.joblibs = joblibs
        self.share_large = share_large
        # The shared copies of plain arrays, by the original's id, while it
        # lives: a task after another over the same array copies nothing.
        self._copies: dict[int, Array] = {}

    def __call__(self, a: Array) -> Any:
        if is_shared(a):
            return reduce_ndarray(a)
        if self.share_large and self._large(a):
            return reduce_ndarray(self._shared_copy(a))
        return self.joblibs(a)

    def _large(self, a: Array) -> bool:
        # joblib's own threshold, as its reducer holds it (None: never).
        limit = getattr(self.joblibs, "_max_nbytes", None)
        return (
            limit is not None
            and a.nbytes > limit
            and not a.dtype.hasobject
            and not _is_memmapped(a)
        )

    def _shared_copy(self, a: Array) -> Array:
        found = self._copies.get(id(a))
        if found is None:
            found = shared_array(a, order="K")
            found.flags.writeable = (
                getattr(self.joblibs, "_mmap_mode", "r") in _WRITABLE_MODES
            )
            self._copies[id(a)] = found
            weakref.finalize(a, self._copies.pop, id(a), None)
        return found

    def __reduce__(self) -> tuple[Any, ...]:
        # The result reducers travel to loky's workers; the copies stay.
        return _ArrayReducer, (self.joblibs, self.share_large)


class _Reducers(dict[type, Any]):
    """A reducers dictionary for joblib, which wraps the array reducer joblib
    puts into it."""

    def __init__(self, share_large: bool) -> None:
        super().__init__()
        self.share_large = share_large

    def __setitem__(self, kind: type, reducer: Any) -> None:
        if issubclass(kind, np.ndarray) and not isinstance(reducer, _ArrayReducer):
            reducer = _ArrayReducer(reducer, self.share_large)
        super().__setitem__(kind, reducer)

    def __reduce__(self) -> tuple[Any, ...]:
        # Sent to loky's workers as their result reducers.
        return _in_worker, (self.share_large,), None, None, iter(self.items())


def _release_after_full_collections(phase: str, info: dict[str, int]) -> None:
    if phase == "stop" and info["generation"] == 2:
        release_unused()


def _in_worker(share_large: bool) -> _Reducers:
    if _release_after_full_collections not in gc.callbacks:
        gc.callbacks.append(_release_after_full_collections)
    return _Reducers(share_large)


@functools.cache
def _reducers(share_large: bool) -> dict[str, _Reducers]:
    # The same dictionaries for every call with the same settings: loky
    # reuses its workers only for a backend whose arguments compare equal.
    return {
        "forward_reducers": _Reducers(share_large),
        "backward_reducers": _Reducers(False),  # results: shared ones by handle
    }


def parallel_config(
    backend: str = "loky", *, share_large: bool = False, **kwargs: Any
) -> Any:
    """``joblib.parallel_config`` for `backend` (``"loky"`` or
    ``"multiprocessing"``) with memshare's reducers: memshare arrays go to
    the workers and back as handles, and, if `share_large`, plain arrays
    above ``max_nbytes`` go into shared memory instead of joblib's temporary
    folder.  Use it as joblib's, as a context manager::

        with memshare.integrations.joblib.parallel_config(n_jobs=2):
            Parallel()(delayed(work)(shared, i) for i in range(8))
    """
    return joblib.parallel_config(backend, **_reducers(share_large), **kwargs)


class MemshareBackend(LokyBackend):  # type: ignore[misc]  # joblib is untyped
    """joblib's loky backend with memshare's reducers (as
    :func:`parallel_config` gives them), registered as ``"memshare"``:
    ``Parallel(backend="memshare")``."""

    def __init__(self, *args: Any, share_large: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **_reducers(share_large), **kwargs)


register_parallel_backend("memshare", MemshareBackend)
