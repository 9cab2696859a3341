"""memshare: share memory between Python processes.

Memory mappings of the four kinds (private or shared, of a file or of
anonymous memory) with the whole Linux interface to them, as
:class:`Mapping`, a drop-in superset of :class:`mmap.mmap`; POSIX shared
memory as :class:`SharedMemory` and :class:`ShareableList`, drop-in
supersets of :mod:`multiprocessing.shared_memory`; memfd; and what is in
/dev/shm.
"""

from importlib.metadata import version as _version

from . import constants
from ._core import default_huge_page_size, huge_page_sizes
from .constants import *
from .mapping import Mapping, map_anonymous, map_file
from .segments import Segment, clean_segments, segment, segments
from .shareable_list import ShareableList
from .shared_memory import SharedMemory
from .shm import add_seals, get_seals, memfd_create, shm_open, shm_unlink

__version__ = _version("memshare")

__all__ = [
    "Mapping",
    "Segment",
    "ShareableList",
    "SharedMemory",
    "__version__",
    "add_seals",
    "clean_segments",
    "default_huge_page_size",
    "get_seals",
    "huge_page_sizes",
    "map_anonymous",
    "map_file",
    "memfd_create",
    "segment",
    "segments",
    "shm_open",
    "shm_unlink",
]
__all__ += constants.__all__
