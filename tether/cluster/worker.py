"""``tether worker``: how many tasks a machine takes at once, the memory each may use, and the Celery worker.

A stack needs about 30 MB a megapixel of its frames; a worker runs as many tasks at once as
both its cores and its available memory allow. Each task process gets an address-space limit
(``resource.setrlimit``), so a task that outgrows it fails with MemoryError, which
:func:`~tether.cluster.batch.stack_item` reports as out of memory, instead of the kernel's OOM
killer ending the process (a killed process would be redelivered, and fail again, for ever).
"""
from __future__ import annotations

import os
import resource
import socket
from dataclasses import dataclass

#: Memory a stack holds for each megapixel of its frames (measured: 30-34 MB/MP, README's table).
MB_PER_MEGAPIXEL = 30
#: Address space a stack reserves beyond what it touches, which the limit counts too: OpenCV's
#: threads, each with its stack and glibc arena (measured: 0.7 MP frames need 21 MB, add 180 MB).
RESERVED_MB = 256


@dataclass(frozen=True)
class Capacity:
    """Tasks at once and the memory limit each gets, with the machine facts they came from."""

    concurrency: int
    task_memory_mb: int
    cores: int
    available_mb: int


def available_memory_mb() -> int:
    """MemAvailable from /proc/meminfo (the whole RAM where that is missing)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20


def capacity(*, frame_megapixels: float, task_memory_mb: int = 0, concurrency: int = 0,
             cores: int | None = None, available_mb: int | None = None) -> Capacity:
    """How many tasks fit: cores, and the available memory over one stack of ``frame_megapixels``."""
    cores = cores or len(os.sched_getaffinity(0))
    available_mb = available_memory_mb() if available_mb is None else available_mb
    need = MB_PER_MEGAPIXEL * frame_megapixels
    concurrency = concurrency or max(1, min(cores, int(available_mb // need)))
    limit = task_memory_mb or max(int(need) + RESERVED_MB, available_mb // concurrency)
    return Capacity(concurrency, limit, cores, available_mb)


def limit_task_memory(megabytes: int) -> None:
    """Let this process's address space grow by ``megabytes`` from what it is now.

    Run in each task process as it starts, when it holds Python, numpy and OpenCV already: the
    limit is on what a task adds, whatever those weigh on this machine.
    """
    with open("/proc/self/statm") as fh:
        now = int(fh.read().split()[0]) * resource.getpagesize()
    cap = now + megabytes * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def node_name(name: str) -> str:
    """The worker's Celery node name: ``name`` (default tether) at this host, unless it names a host itself."""
    name = name or "tether"
    return name if "@" in name else f"{name}@{socket.gethostname()}"
