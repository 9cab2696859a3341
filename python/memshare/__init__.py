"""memshare: share memory between Python processes.

Memory mappings of the four kinds (private or shared, of a file or of
anonymous memory) with the whole Linux interface to them, as
:class:`Mapping`, a drop-in superset of :class:`mmap.mmap`.
"""

from importlib.metadata import version as _version

from . import constants
from ._core import default_huge_page_size, huge_page_sizes
from .constants import *
from .mapping import Mapping, map_anonymous, map_file

__version__ = _version("memshare")

__all__ = [
    "Mapping",
    "__version__",
    "default_huge_page_size",
    "huge_page_sizes",
    "map_anonymous",
    "map_file",
]
__all__ += constants.__all__
