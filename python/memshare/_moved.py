"""Where the modules of memshare's first, flat layout went.

A pickle names the module of every class and function it refers to
(``memshare.pickling.rebuild_ndarray``, ``memshare.array.Backing``), and code
may import a module by its old name: both keep working, because each old
name stays in :data:`sys.modules` as the module that holds its code now.
The old names of modules that became subpackages (``memshare.shm``,
``memshare.queues``) need no entry: the subpackage exports their names.
"""

from __future__ import annotations

import importlib
import sys

MOVED = {
    "array": "arrays.constructors",
    "array_header": "arrays.header",
    "pickling": "arrays.pickling",
    "recycling": "arrays.recycling",
    "shared_memory": "shm.shared_memory",
    "shareable_list": "shm.shareable_list",
    "segments": "shm.segments",
    "posix_ipc": "shm.posix_ipc",
    "locks": "sync.locks",
    "conditions": "sync.conditions",
    "atomics": "sync.atomics",
    "waits": "sync.waits",
    "queue_items": "queues.items",
    "maps": "explore.maps",
    "memory_report": "explore.memory_report",
    "system_info": "explore.system_info",
    "demo_mappings": "demo.mappings",
}


def keep_old_names() -> None:
    package = sys.modules["memshare"]
    for old, new in MOVED.items():
        module = importlib.import_module(f"memshare.{new}")
        sys.modules.setdefault(f"memshare.{old}", module)
        if not hasattr(package, old):  # memshare.array is the function
            setattr(package, old, module)
