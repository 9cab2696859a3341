"""Process pools that dispatch through shared memory: :class:`Pool` with
:class:`multiprocessing.pool.Pool`'s interface and
:class:`ProcessPoolExecutor` with :mod:`concurrent.futures`'.  Tasks and
results travel through memshare's queues; a worker's death fails its task
(:class:`WorkerLostError`) instead of hanging or breaking the pool."""

from .errors import TaskTransferError, WorkerLostError
from .executor import ProcessPoolExecutor
from .pool import Pool
from .results import AsyncResult, IMapIterator, MapResult

__all__ = [
    "AsyncResult",
    "IMapIterator",
    "MapResult",
    "Pool",
    "ProcessPoolExecutor",
    "TaskTransferError",
    "WorkerLostError",
]
