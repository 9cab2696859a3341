"""CPython's test.test_concurrent_futures run against
ms.ProcessPoolExecutor: the tests of every executor, of the process pool,
of wait(), as_completed(), shutdown and initializers, under fork, spawn and
forkserver.  CPython installs that package with 3.13 and later here (3.10
to 3.12 have none).

Skipped, each for its reason: tests of private attributes, and one that
runs the standard library's executor in a child process."""

from __future__ import annotations

from typing import Any

import pytest
from cpython_suites import PRIVATE, skip

import memshare as ms

try:
    from test.test_concurrent_futures import (
        test_as_completed,
        test_deadlock,
        test_init,
        test_process_pool,
        test_shutdown,
        test_wait,
        util,
    )
except ImportError:
    pytest.skip(
        "this Python's test package has no test_concurrent_futures",
        allow_module_level=True,
    )

MIXINS = (
    util.ProcessPoolForkMixin,
    util.ProcessPoolForkserverMixin,
    util.ProcessPoolSpawnMixin,
)

# The tests of each module, by the mixin of their flavour.
SUITES: list[type] = [
    test_process_pool.ProcessPoolExecutorTest,
    test_wait.WaitTests,
    test_as_completed.AsCompletedTests,
    test_shutdown.ProcessPoolShutdownTest,
    test_init.FailingInitializerMixin,
    test_init.InitializerMixin,
    test_deadlock.ExecutorDeadlockTest,
]

# The executor starts its workers at once, where the standard library's
# starts them as tasks come (its _processes tell how many it has).
PROCESSES = PRIVATE.format("_processes")
SKIPS: dict[str, dict[str, str]] = {
    "ProcessPoolExecutorTest": {
        "test_idle_process_reuse_one": PROCESSES,
        "test_idle_process_reuse_multiple": PROCESSES,
        "test_killed_child": PROCESSES,
        "test_max_tasks_per_child": PROCESSES,
        "test_saturation": PROCESSES,
        "test_python_finalization_error": PRIVATE.format(
            "threading._start_joinable_thread, mocked"
        ),
    },
    "ProcessPoolShutdownTest": {
        "test_processes_terminate": PROCESSES,
        "test_hang_gh83386": "runs the standard library's executor in a child, "
        "not memshare's",
    },
    "FailingInitializerMixin": {"test_initializer": PRIVATE.format("_broken")},
    "ExecutorDeadlockTest": {
        "test_shutdown_deadlock_pickle": PRIVATE.format("_executor_manager_thread"),
    },
}


def install(base: type, mixin: type) -> None:
    name = f"Memshare{mixin.__name__.removesuffix('Mixin')}{base.__name__}"
    flavour: Any = type(
        f"{mixin.__name__}Memshare", (mixin,), {"executor_type": ms.ProcessPoolExecutor}
    )
    cls: Any = type(
        name,
        (base, flavour, util.BaseTestCase),
        {"__module__": __name__, "__qualname__": name},
    )
    skip(cls, SKIPS.get(base.__name__, {}))
    globals()[name] = cls


for _mixin in MIXINS:
    for _base in SUITES:
        install(_base, _mixin)
del _mixin, _base


def setUpModule() -> None:
    util.setup_module()
