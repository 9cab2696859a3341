"""
memshare's C++ core: memory mappings, shared memory and the Linux calls on them.
"""
from __future__ import annotations
import numpy
import numpy.typing
import typing
import typing_extensions
__all__: list[str] = ['ACCESS_COPY', 'ACCESS_DEFAULT', 'ACCESS_READ', 'ACCESS_WRITE', 'ALLOCATIONGRANULARITY', 'ATOMIC_SIZE', 'BARRIER_SIZE', 'EVENT_SIZE', 'F_SEAL_EXEC', 'F_SEAL_FUTURE_WRITE', 'F_SEAL_GROW', 'F_SEAL_SEAL', 'F_SEAL_SHRINK', 'F_SEAL_WRITE', 'FileDescriptor', 'LOCK_SIZE', 'MADV_COLD', 'MADV_COLLAPSE', 'MADV_DODUMP', 'MADV_DOFORK', 'MADV_DONTDUMP', 'MADV_DONTFORK', 'MADV_DONTNEED', 'MADV_DONTNEED_LOCKED', 'MADV_FREE', 'MADV_GUARD_INSTALL', 'MADV_GUARD_REMOVE', 'MADV_HUGEPAGE', 'MADV_HWPOISON', 'MADV_KEEPONFORK', 'MADV_MERGEABLE', 'MADV_NOHUGEPAGE', 'MADV_NORMAL', 'MADV_PAGEOUT', 'MADV_POPULATE_READ', 'MADV_POPULATE_WRITE', 'MADV_RANDOM', 'MADV_REMOVE', 'MADV_SEQUENTIAL', 'MADV_SOFT_OFFLINE', 'MADV_UNMERGEABLE', 'MADV_WILLNEED', 'MADV_WIPEONFORK', 'MAP_32BIT', 'MAP_ANON', 'MAP_ANONYMOUS', 'MAP_DENYWRITE', 'MAP_DROPPABLE', 'MAP_EXECUTABLE', 'MAP_FIXED_NOREPLACE', 'MAP_HUGETLB', 'MAP_HUGE_1GB', 'MAP_HUGE_2MB', 'MAP_HUGE_MASK', 'MAP_HUGE_SHIFT', 'MAP_LOCKED', 'MAP_NONBLOCK', 'MAP_NORESERVE', 'MAP_POPULATE', 'MAP_PRIVATE', 'MAP_SHARED', 'MAP_SHARED_VALIDATE', 'MAP_STACK', 'MAP_SYNC', 'MFD_ALLOW_SEALING', 'MFD_CLOEXEC', 'MFD_EXEC', 'MFD_HUGETLB', 'MFD_NOEXEC_SEAL', 'MS_ASYNC', 'MS_INVALIDATE', 'MS_SYNC', 'Mapping', 'MessageQueueCore', 'NamedSemaphoreCore', 'OwnerDiedError', 'PAGESIZE', 'PROT_EXEC', 'PROT_NONE', 'PROT_READ', 'PROT_WRITE', 'SEMAPHORE_SIZE', 'SegmentInfo', 'SharedAtomic', 'SharedBarrier', 'SharedCondition', 'SharedEvent', 'SharedQueue', 'SharedSemaphore', 'SyncLock', 'add_lease', 'add_seals', 'array_memory', 'condition_size', 'condition_slots', 'create_segment', 'default_huge_page_size', 'describe_segment', 'format_bytes', 'free_huge_pages', 'get_seals', 'handle_returned', 'huge_page_sizes', 'kept_segments', 'list_segments', 'lock_kind', 'map_anonymous', 'map_fd', 'map_path', 'memfd_create', 'mq_unlink', 'new_array_memory', 'offer_array_memory', 'open_segment', 'receive_shared', 'recycling_budget', 'release_kept_segments', 'reserve', 'resize_segment', 'rlock_kind', 'sem_unlink', 'set_damage_error', 'shm_open', 'shm_unlink', 'start_fault_watcher', 'take_damage_report', 'withdraw_offers']
class Mapping:
    """
    A memory mapping with the interface of mmap.mmap.
    """
    def __delitem__(self, key):
        """
        Delete self[key].
        """
    def __enter__(self) -> typing.Any:
        """
        Enter a with block.
        """
    def __exit__(self, exc_type: typing.Any, exc_value: typing.Any, traceback: typing.Any) -> None:
        """
        Close the mapping.
        """
    def __getitem__(self, key):
        """
        Return self[key].
        """
    @typing.overload
    def __init__(self, other: Mapping) -> None:
        """
        Take over the memory of another Mapping, which is closed.
        """
    @typing.overload
    def __init__(self, fileno: int, length: int, flags: int = 1, prot: int = 3, access: int = 0, offset: int = 0, *, trackfd: bool = True) -> None:
        """
        Map `length` bytes of `fileno` (-1: anonymous memory), as mmap.mmap.
        """
    def __len__(self):
        """
        Return len(self).
        """
    def __setitem__(self, key, value):
        """
        Set self[key] to value.
        """
    def advise(self, advice: int, start: int = 0, length: int | None = None) -> None:
        """
        madvise() a range.
        """
    def close(self) -> None:
        """
        Unmap the memory; BufferError while exported.
        """
    def fileno(self) -> int:
        """
        The descriptor the mapping keeps, or -1.
        """
    def find(self, sub: typing_extensions.Buffer, start: int = ..., end: int = ...) -> int:
        """
        The lowest index of sub in [start, end) (from the position to the end if left out), or -1.
        """
    def flush(self, offset: int = 0, size: int = ...) -> None:
        """
        Write changes back to the file (msync MS_SYNC).
        """
    def lock(self, start: int = 0, length: int | None = None, *, on_fault: bool = False) -> None:
        """
        mlock() a range.
        """
    def madvise(self, option: int, start: int = 0, length: int = ...) -> None:
        """
        madvise() a range (to the end if no length), as mmap.mmap.madvise.
        """
    def move(self, dest: int, src: int, count: int) -> None:
        """
        Copy count bytes from src to dest within the mapping.
        """
    def populate(self, write: bool = False, start: int = 0, length: int | None = None) -> None:
        """
        Fault pages in (MADV_POPULATE_READ/WRITE).
        """
    def protect(self, prot: int, start: int = 0, length: int | None = None) -> None:
        """
        mprotect() a range.
        """
    def read(self, n: int | None = None) -> bytes:
        """
        Read up to n bytes (all if None) from the position.
        """
    def read_byte(self) -> int:
        """
        Read one byte, as an int.
        """
    def readline(self) -> bytes:
        """
        Read through the next newline.
        """
    def residency(self) -> numpy.typing.NDArray[numpy.bool]:
        """
        mincore(): one bool per page, True if resident.
        """
    def resize(self, newsize: int) -> None:
        """
        Resize the mapping, and its file.
        """
    def rfind(self, sub: typing_extensions.Buffer, start: int = ..., end: int = ...) -> int:
        """
        The highest index of sub in [start, end) (from the position to the end if left out), or -1.
        """
    def seek(self, pos: int, whence: int = 0) -> int:
        """
        Move the position (whence: 0 start, 1 current, 2 end); return it.
        """
    def seekable(self) -> bool:
        """
        True: mappings can seek.
        """
    def set_name(self, name: str) -> None:
        """
        Name anonymous memory in /proc/PID/maps.
        """
    def size(self) -> int:
        """
        The size of the file (of the memory if anonymous).
        """
    def sync(self, start: int = 0, length: int | None = None, *, flags: int = 4) -> None:
        """
        msync() a range.
        """
    def tell(self) -> int:
        """
        The position.
        """
    def unlock(self, start: int = 0, length: int | None = None) -> None:
        """
        munlock() a range.
        """
    def write(self, bytes: typing_extensions.Buffer) -> int:
        """
        Write bytes at the position; return how many.
        """
    def write_byte(self, byte: int) -> None:
        """
        Write one byte at the position.
        """
    @property
    def access(self) -> int:
        """
        The ACCESS_ mode.
        """
    @property
    def address(self) -> int:
        """
        The address of the first byte.
        """
    @property
    def anonymous(self) -> bool:
        """
        Whether no file backs it.
        """
    @property
    def closed(self) -> bool:
        """
        Whether close() was called.
        """
    @property
    def exports(self) -> int:
        """
        How many buffers and calls point into the mapping.
        """
    @property
    def flags(self) -> int:
        """
        The MAP_ flags used.
        """
    @property
    def length(self) -> int:
        """
        The length in bytes.
        """
    @property
    def offset(self) -> int:
        """
        The file offset mapped.
        """
    @property
    def prot(self) -> int:
        """
        The protection of every page.
        """
    @property
    def shared(self) -> bool:
        """
        Whether writes are shared.
        """
class SegmentInfo:
    """
    A segment in /dev/shm.
    """
    @property
    def created_ns(self) -> int | None:
        """
        When it was created (Unix time, ns), if recorded.
        """
    @property
    def creator(self) -> int | None:
        """
        The creator's pid, if recorded.
        """
    @property
    def creator_alive(self) -> bool | None:
        """
        Whether its creator still runs, if recorded.
        """
    @property
    def gid(self) -> int:
        ...
    @property
    def mapped_by(self) -> list[int]:
        ...
    @property
    def memshare(self) -> bool:
        """
        Whether memshare created it (and recorded so).
        """
    @property
    def mode(self) -> int:
        ...
    @property
    def modified_ns(self) -> int:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def size(self) -> int:
        ...
    @property
    def tracked(self) -> bool | None:
        """
        Whether it goes when its creator ends, if recorded.
        """
    @property
    def uid(self) -> int:
        ...
class FileDescriptor:
    """
    A descriptor that memshare owns: closed with the object.
    """
    def __init__(self, fd: int) -> None:
        """
        Take ownership of `fd`.
        """
    def close(self) -> None:
        """
        Close it now.
        """
    def fileno(self) -> int:
        """
        The descriptor number.
        """
    def identity(self) -> tuple[int, int]:
        """
        (st_dev, st_ino): equal for descriptors of the same memory.
        """
    @property
    def closed(self) -> bool:
        """
        Whether it is closed.
        """
class SyncLock:
    """
    A lock in the shared memory `cell`, made there or attached to.
    """
    @staticmethod
    def __new__(type, *args, **kwargs):
        """
        Create and return a new object.  See help(type) for accurate signature.
        """
    def __enter__(self):
        """
        acquire()
        """
    def __exit__(self, exc_type, exc_value, traceback):
        """
        release()
        """
    def _depth(self):
        """
        How many times this thread holds the RLock (0: it does not); a Lock: 1 if held.
        """
    def acquire(self, blocking = True, timeout = -1):
        """
        True once held, False if not in time.
        """
    def locked(self):
        """
        Whether some thread holds the lock.
        """
    def release(self):
        """
        Release the lock.
        """
class OwnerDiedError(RuntimeError):
    """
    A lock was acquired whose holding process had ended without releasing it.
    
    The lock is held by the caller when this is raised, and stays usable: check (and repair) what it guards, then release it.
    """
class SharedBarrier:
    """
    The core of memshare.Barrier.
    """
    def __init__(self, cell: typing.Any, parties: typing.SupportsInt | typing.SupportsIndex, make: bool) -> None:
        ...
    def abort(self) -> None:
        ...
    def arrive(self) -> tuple[int, int, bool] | None:
        """
        (index, generation, last), or None if the barrier is broken.
        """
    def complete(self, generation: typing.SupportsInt | typing.SupportsIndex, released: bool) -> None:
        ...
    def reset(self) -> None:
        ...
    def wait(self, generation: typing.SupportsInt | typing.SupportsIndex, seconds: typing.SupportsFloat | typing.SupportsIndex | None) -> bool:
        """
        Whether `generation` was released (False: broken, reset or timed out).
        """
    @property
    def broken(self) -> bool:
        ...
    @property
    def cell(self) -> typing.Any:
        ...
    @property
    def n_waiting(self) -> int:
        ...
    @property
    def parties(self) -> int:
        ...
class SharedEvent:
    """
    The core of memshare.Event: a flag in shared memory.
    """
    def __init__(self, cell: typing.Any, make: bool) -> None:
        ...
    def clear(self) -> None:
        ...
    def is_set(self) -> bool:
        ...
    def set(self) -> None:
        ...
    def wait(self, seconds: typing.SupportsFloat | typing.SupportsIndex | None) -> bool:
        """
        Waits at most `seconds` (None: for ever): whether the flag was set.
        """
    @property
    def cell(self) -> typing.Any:
        ...
class SharedSemaphore:
    """
    The core of memshare.Semaphore and BoundedSemaphore.
    """
    most: typing.ClassVar[int] = 2147483647
    def __init__(self, cell: typing.Any, value: typing.SupportsInt | typing.SupportsIndex, bound: typing.SupportsInt | typing.SupportsIndex | None, make: bool) -> None:
        ...
    def acquire(self, blocking: bool, seconds: typing.SupportsFloat | typing.SupportsIndex | None) -> bool:
        ...
    def bound(self) -> int:
        """
        The largest value allowed.
        """
    def release(self, count: typing.SupportsInt | typing.SupportsIndex) -> bool:
        """
        Adds `count`; False if that passes the bound.
        """
    def value(self) -> int:
        ...
    @property
    def cell(self) -> typing.Any:
        ...
class SharedAtomic:
    """
    The core of memshare.AtomicInt: 64 bits in shared memory.
    """
    def __init__(self, cell: typing.Any, value: typing.SupportsInt | typing.SupportsIndex, make: bool) -> None:
        ...
    def compare_exchange(self, expected: typing.SupportsInt | typing.SupportsIndex, desired: typing.SupportsInt | typing.SupportsIndex) -> tuple[bool, int]:
        """
        (whether `desired` was stored, the value seen)
        """
    def exchange(self, value: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def fetch_add(self, delta: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def load(self) -> int:
        ...
    def store(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def cell(self) -> typing.Any:
        ...
class SharedCondition:
    """
    The core of memshare.Condition: its waiters' slots.
    """
    def __init__(self, cell: typing.Any, slots: typing.SupportsInt | typing.SupportsIndex, make: bool) -> None:
        """
        Make a condition of `slots` slots in `cell`, or attach to the one there.
        """
    def enlist(self) -> int:
        ...
    def leave(self, slot: typing.SupportsInt | typing.SupportsIndex) -> bool:
        """
        Give the slot back: whether it was notified.
        """
    def notify(self, count: typing.SupportsInt | typing.SupportsIndex) -> int:
        """
        Wake up to `count` waiters, oldest first: how many.
        """
    def sleep(self, slot: typing.SupportsInt | typing.SupportsIndex, seconds: typing.SupportsFloat | typing.SupportsIndex | None) -> None:
        ...
    @property
    def cell(self) -> typing.Any:
        ...
    @property
    def slots(self) -> int:
        ...
class SharedQueue:
    """
    The core of memshare.Queue: records of bytes, each with a byte of flags, through a ring in shared memory.
    """
    alone: typing.ClassVar[int] = 128
    header_size: typing.ClassVar[int] = 192
    record_header: typing.ClassVar[int] = 8
    def __init__(self, cell: typing.Any, maxsize: typing.SupportsInt | typing.SupportsIndex, make: bool) -> None:
        ...
    def get(self, block: bool, seconds: typing.SupportsFloat | typing.SupportsIndex | None) -> tuple[bytearray, int] | None:
        """
        The oldest record (payload, flags), or None if none came by the deadline.
        """
    def get_many(self, most: typing.SupportsInt | typing.SupportsIndex, block: bool, seconds: typing.SupportsFloat | typing.SupportsIndex | None, stoppable: bool = False, spin: bool = True, claim: typing_extensions.Buffer | None = None) -> list[tuple[bytearray, int]]:
        """
        Up to `most` of the oldest records; none if none came by the deadline or, if `stoppable`, once this process calls stop_takers().  A record flagged `alone` (0x80) is taken by itself.  Without `spin`, a wait sleeps at once (for a taker whose speed matters less than the CPU its spinning would take).  With a `claim` (two 64-bit words, not with `stoppable`), the number of the first record taken (the `taken` count its take makes) is written to both words, and each later one's to the second, before each take commits.
        """
    def put(self, payload: typing_extensions.Buffer, flags: typing.SupportsInt | typing.SupportsIndex, block: bool, seconds: typing.SupportsFloat | typing.SupportsIndex | None, mark: typing_extensions.Buffer | None = None, mark_value: typing.SupportsInt | typing.SupportsIndex = 0) -> bool:
        """
        Puts one record: False if there was no room by the deadline.  Once it is in, and before anyone can take it, `mark_value` is written to the first 8 bytes of `mark` if given.
        """
    def put_many(self, records: list[tuple[typing_extensions.Buffer, int]], block: bool, seconds: typing.SupportsFloat | typing.SupportsIndex | None) -> tuple[int, typing.Any | None]:
        """
        Puts (payload, flags) records in order: (how many by the deadline, the exception that stopped it or None).
        """
    def qsize(self) -> int:
        ...
    def stop_takers(self) -> None:
        """
        Ends the waits of this process's get_many(stoppable=True) calls under way (with what they took, or nothing).
        """
    @property
    def capacity(self) -> int:
        """
        Bytes of the ring.
        """
    @property
    def cell(self) -> typing.Any:
        ...
    @property
    def largest(self) -> int:
        """
        The largest record the ring takes.
        """
    @property
    def locked(self) -> bool:
        """
        Whether a process holds the ring's lock now (copying a record).
        """
    @property
    def maxsize(self) -> int:
        ...
    @property
    def taken(self) -> int:
        """
        How many records were ever taken: the number of the last one taken.
        """
class NamedSemaphoreCore:
    """
    sem_open(3) and the calls on what it opened.
    """
    def __init__(self, name: bytes, create: bool, value: typing.SupportsInt | typing.SupportsIndex, mode: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def acquire(self, blocking: bool, seconds: typing.SupportsFloat | typing.SupportsIndex | None) -> bool:
        ...
    def close(self) -> None:
        ...
    def release(self, count: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def value(self) -> int:
        ...
    @property
    def closed(self) -> bool:
        ...
    @property
    def name(self) -> str:
        ...
class MessageQueueCore:
    """
    mq_open(3) and the calls on its queue.
    """
    def __init__(self, name: bytes, create: bool, max_messages: typing.SupportsInt | typing.SupportsIndex, max_message_size: typing.SupportsInt | typing.SupportsIndex, mode: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def close(self) -> None:
        ...
    def receive(self, wait: bool, seconds: typing.SupportsFloat | typing.SupportsIndex | None) -> tuple[bytes, int] | None:
        """
        (message, priority), or None if none came.
        """
    def send(self, message: typing_extensions.Buffer, priority: typing.SupportsInt | typing.SupportsIndex, wait: bool, seconds: typing.SupportsFloat | typing.SupportsIndex | None) -> bool:
        """
        Whether it was sent (False: the queue stayed full).
        """
    def sizes(self) -> tuple[int, int]:
        ...
    def waiting(self) -> int:
        ...
    @property
    def closed(self) -> bool:
        ...
    @property
    def name(self) -> str:
        ...
def add_lease(mapping: Mapping) -> None:
    """
    Take a lease on the array memory of `mapping` for a process about to be forked, which will hold it too.
    """
def add_seals(fd: int, seals: int) -> None:
    """
    fcntl(F_ADD_SEALS).
    """
def array_memory(a: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]) -> tuple[int, int, int, bool]:
    """
    (data, low, high, writeable): the address of the first element of ndarray `a`, the first byte it spans and the one past its last, and whether it may be written.
    """
def condition_size(slots: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    Bytes a Condition with room for `slots` waiters takes.
    """
def condition_slots(cell: typing.Any) -> int:
    """
    How many waiter slots the Condition at the start of `cell` has.
    """
def create_segment(name: bytes | None, size: int, mode: int, reserve: bool, track: bool, keep_fd: bool = True) -> tuple[str, Mapping, tuple[int, int]]:
    """
    Create a segment; return its name, a Mapping of it and its identity.
    """
def default_huge_page_size() -> int:
    """
    The default huge page size in bytes, or 0.
    """
def describe_segment(name: bytes) -> SegmentInfo:
    """
    One segment of /dev/shm.
    """
def format_bytes(size: typing.SupportsInt | typing.SupportsIndex) -> str:
    """
    A size as people read it: '4 KiB', '1.5 GiB'.
    """
def free_huge_pages(size: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    Huge pages of `size` bytes that a new mapping can still get (free and not reserved by another mapping), or 0 when the size is not offered.
    """
def get_seals(fd: int) -> int:
    """
    fcntl(F_GET_SEALS).
    """
def handle_returned(mapping: Mapping, address: bytes, token: bytes) -> None:
    """
    A handle of the memory of `mapping` arrived, which this process has mapped already: give back the lease it carried, and tell the courier at `address` that the offer `token` will not be taken.
    """
def huge_page_sizes() -> list[int]:
    """
    The huge page sizes the kernel offers, in bytes, ascending.
    """
def kept_segments() -> dict[str, int]:
    """
    The array memory this process keeps mapped for reuse: parked (received from other processes) and recycled (made here), counts and bytes.
    """
def list_segments() -> list[SegmentInfo]:
    """
    Every segment in /dev/shm.
    """
def map_anonymous(length: int, shared: bool, prot: int, flags: int) -> Mapping:
    """
    Map anonymous memory; `flags` adds MAP_ flags.
    """
def map_fd(fd: int, mode: str, length: int | None, offset: int, flags: int) -> Mapping:
    """
    Map a file by descriptor, with a numpy.memmap mode.
    """
def map_path(path: bytes, mode: str, length: int | None, offset: int, flags: int) -> Mapping:
    """
    Map a file by (fs-encoded) path, with a numpy.memmap mode.
    """
def memfd_create(name: bytes, flags: int) -> int:
    """
    memfd_create(2); the caller owns the descriptor.
    """
def mq_unlink(name: bytes) -> None:
    """
    mq_unlink(3).
    """
def new_array_memory(bytes: int, zero: bool) -> tuple[Mapping, tuple[int, int]]:
    """
    Shared memory for an array of `bytes` bytes, leased by this process: (Mapping, identity).  Recycled memory of this process if some fits, zeroed if `zero`; else a new sealed memfd.
    """
def offer_array_memory(mapping: Mapping, identity: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]) -> tuple[bytes, bytes, int, int]:
    """
    Offer the array memory `mapping`, of the memory `identity`, through this process's courier: (address, token, pid, fd).
    """
def open_segment(name: bytes, readonly: bool, keep_fd: bool = True) -> tuple[str, Mapping, tuple[int, int]]:
    """
    Open an existing segment; return its name, a Mapping of it and its identity.
    """
def receive_shared(address: bytes, token: bytes, pid: int, fd: int, identity: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], length: int) -> Mapping:
    """
    A shared Mapping of the first `length` bytes of the memory `identity`, which process `pid` offers as its `fd`: parked here already, else taken from that process while it lives, else from its courier.  The mapping keeps the descriptor, and is parked for a moment once dropped.
    """
def recycling_budget() -> int:
    """
    The most array memory this process keeps for reuse, in bytes (from the machine's memory).
    """
def release_kept_segments() -> int:
    """
    Unmap every kept segment now; the bytes let go of.
    """
def reserve(fd: int, start: int, stop: int, name: str) -> None:
    """
    Allocate the bytes [start, stop) of a file now (fallocate).
    """
def resize_segment(fd: int, size: int, reserve: bool, name: str) -> None:
    """
    Set the size of a segment; growth is reserved if asked.
    """
def sem_unlink(name: bytes) -> None:
    """
    sem_unlink(3).
    """
def set_damage_error(type: typing.Any) -> None:
    """
    The exception class raised for memory the SIGBUS shield replaced.
    """
def shm_open(name: bytes, flags: int, mode: int) -> int:
    """
    shm_open(3); the caller owns the descriptor.
    """
def shm_unlink(name: bytes) -> None:
    """
    shm_unlink(3).
    """
def start_fault_watcher() -> None:
    """
    Start the thread that tells Python threads their accesses faulted: once on import, and in each child after fork.
    """
def take_damage_report() -> str:
    """
    What the SIGBUS shield replaced since the last report, one sentence per mapping.
    """
def withdraw_offers(identity: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]) -> None:
    """
    This process let go of the memory `identity`: its courier may drop its copy once every offer of it is taken.
    """
ACCESS_COPY: int = 3
ACCESS_DEFAULT: int = 0
ACCESS_READ: int = 1
ACCESS_WRITE: int = 2
ALLOCATIONGRANULARITY: int = 4096
ATOMIC_SIZE: int = 16
BARRIER_SIZE: int = 40
EVENT_SIZE: int = 16
F_SEAL_EXEC: int = 32
F_SEAL_FUTURE_WRITE: int = 16
F_SEAL_GROW: int = 4
F_SEAL_SEAL: int = 1
F_SEAL_SHRINK: int = 2
F_SEAL_WRITE: int = 8
LOCK_SIZE: int = 24
MADV_COLD: int = 20
MADV_COLLAPSE: int = 25
MADV_DODUMP: int = 17
MADV_DOFORK: int = 11
MADV_DONTDUMP: int = 16
MADV_DONTFORK: int = 10
MADV_DONTNEED: int = 4
MADV_DONTNEED_LOCKED: int = 24
MADV_FREE: int = 8
MADV_GUARD_INSTALL: int = 102
MADV_GUARD_REMOVE: int = 103
MADV_HUGEPAGE: int = 14
MADV_HWPOISON: int = 100
MADV_KEEPONFORK: int = 19
MADV_MERGEABLE: int = 12
MADV_NOHUGEPAGE: int = 15
MADV_NORMAL: int = 0
MADV_PAGEOUT: int = 21
MADV_POPULATE_READ: int = 22
MADV_POPULATE_WRITE: int = 23
MADV_RANDOM: int = 1
MADV_REMOVE: int = 9
MADV_SEQUENTIAL: int = 2
MADV_SOFT_OFFLINE: int = 101
MADV_UNMERGEABLE: int = 13
MADV_WILLNEED: int = 3
MADV_WIPEONFORK: int = 18
MAP_32BIT: int = 64
MAP_ANON: int = 32
MAP_ANONYMOUS: int = 32
MAP_DENYWRITE: int = 2048
MAP_DROPPABLE: int = 8
MAP_EXECUTABLE: int = 4096
MAP_FIXED_NOREPLACE: int = 1048576
MAP_HUGETLB: int = 262144
MAP_HUGE_1GB: int = 2013265920
MAP_HUGE_2MB: int = 1409286144
MAP_HUGE_MASK: int = 63
MAP_HUGE_SHIFT: int = 26
MAP_LOCKED: int = 8192
MAP_NONBLOCK: int = 65536
MAP_NORESERVE: int = 16384
MAP_POPULATE: int = 32768
MAP_PRIVATE: int = 2
MAP_SHARED: int = 1
MAP_SHARED_VALIDATE: int = 3
MAP_STACK: int = 131072
MAP_SYNC: int = 524288
MFD_ALLOW_SEALING: int = 2
MFD_CLOEXEC: int = 1
MFD_EXEC: int = 16
MFD_HUGETLB: int = 4
MFD_NOEXEC_SEAL: int = 8
MS_ASYNC: int = 1
MS_INVALIDATE: int = 2
MS_SYNC: int = 4
PAGESIZE: int = 4096
PROT_EXEC: int = 4
PROT_NONE: int = 0
PROT_READ: int = 1
PROT_WRITE: int = 2
SEMAPHORE_SIZE: int = 24
lock_kind: int = 1
rlock_kind: int = 2
