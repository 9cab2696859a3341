"""memshare: share memory between Python processes.

Memory mappings of the four kinds (private or shared, of a file or of
anonymous memory) with the whole Linux interface to them, as
:class:`Mapping`, a drop-in superset of :class:`mmap.mmap`; POSIX shared
memory as :class:`SharedMemory` and :class:`ShareableList`, drop-in
supersets of :mod:`multiprocessing.shared_memory`; memfd; what is in
/dev/shm; NumPy arrays in shared memory (:func:`zeros`, :func:`array`,
...) that travel to multiprocessing workers as small handles, not copies;
and synchronization that lives next to them (:class:`Lock`, :class:`RLock`,
:class:`Condition`, :class:`Barrier`, :class:`Event`, :class:`Semaphore`, :class:`BoundedSemaphore`,
:class:`AtomicInt`, :class:`AtomicArray`); and any picklable object in
shared memory (:func:`put`, :func:`share`, :class:`ObjectRef`).
"""

from importlib.metadata import version as _version

# shm first (isort would put arrays first): arrays import shm.calls, and
# shm's other modules lead back to arrays (posix_ipc -> sync -> arrays), so
# shm's __init__ must have loaded calls before arrays begins.
from . import shm
from .shm import *

# isort: split
from . import _moved, arrays, constants, explore, objects, pool, queues, sync
from ._core import default_huge_page_size, huge_page_sizes
from .arrays import *
from .constants import *
from .explore import *
from .faults import MappingDamagedError
from .mapping import Mapping, map_anonymous, map_file
from .objects import *
from .pool import *
from .queues import *
from .sync import *

__version__ = _version("memshare")
_moved.keep_old_names()

__all__ = [
    "Mapping",
    "MappingDamagedError",
    "__version__",
    "default_huge_page_size",
    "huge_page_sizes",
    "map_anonymous",
    "map_file",
]
for _area in (arrays, constants, explore, objects, pool, queues, shm, sync):
    __all__ += _area.__all__
del _area
