"""Names from before the package was grouped by area still resolve: pickles
made then (which name each class's and function's module) load, and code
that imports a module by its old name still runs."""

from __future__ import annotations

import importlib
import io
import pickle

import pytest

import memshare as ms

# Every module-qualified global that memshare's pickles referred to before
# the move (collected from pickles of every public name and of every
# primitive, queue, array and segment sent through multiprocessing).
BEFORE_THE_MOVE = [
    ("memshare.array", "Backing"),
    ("memshare.array", "array"),
    ("memshare.array", "asarray"),
    ("memshare.array", "attach"),
    ("memshare.array", "backing"),
    ("memshare.array", "empty"),
    ("memshare.array", "empty_like"),
    ("memshare.array", "full"),
    ("memshare.array", "full_like"),
    ("memshare.array", "is_shared"),
    ("memshare.array", "ones"),
    ("memshare.array", "ones_like"),
    ("memshare.array", "populate"),
    ("memshare.array", "unlink"),
    ("memshare.array", "zeros"),
    ("memshare.array", "zeros_like"),
    ("memshare.conditions", "condition_size"),
    ("memshare.faults", "MappingDamagedError"),
    ("memshare.mapping", "map_anonymous"),
    ("memshare.mapping", "map_file"),
    ("memshare.maps", "MapEntry"),
    ("memshare.maps", "maps"),
    ("memshare.memory_report", "MemoryReport"),
    ("memshare.memory_report", "ProcessMemory"),
    ("memshare.memory_report", "memory_report"),
    ("memshare.pickling", "rebuild_ndarray"),
    ("memshare.recycling", "release_unused"),
    ("memshare.segments", "Segment"),
    ("memshare.segments", "clean_segments"),
    ("memshare.segments", "segment"),
    ("memshare.segments", "segments"),
    ("memshare.shareable_list", "ShareableList"),
    ("memshare.shared_memory", "SharedMemory"),
    ("memshare.shm", "add_seals"),
    ("memshare.shm", "get_seals"),
    ("memshare.shm", "memfd_create"),
    ("memshare.shm", "shm_open"),
    ("memshare.shm", "shm_unlink"),
    ("memshare.system_info", "SystemInfo"),
    ("memshare.system_info", "info"),
]


@pytest.mark.parametrize(("module", "name"), BEFORE_THE_MOVE)
def test_a_global_named_before_the_move_is_found(module: str, name: str) -> None:
    found = pickle.Unpickler(io.BytesIO()).find_class(module, name)
    new_home = (
        ms if hasattr(ms, name) else importlib.import_module("memshare.arrays.pickling")
    )
    assert found is getattr(new_home, name)


def test_a_pickle_made_before_the_move_loads() -> None:
    # Protocol 0, as written before the move: the class under its old module.
    assert pickle.loads(b"cmemshare.array\nBacking\n.") is ms.Backing


def test_old_module_names_import() -> None:
    from memshare import locks, pickling

    assert pickling.rebuild_ndarray.__module__ == "memshare.arrays.pickling"
    assert locks.Lock is ms.Lock
    assert importlib.import_module("memshare.array").zeros is ms.zeros
