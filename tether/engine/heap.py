"""glibc heap tuning for a process that stacks large images: the CLI's image commands and the server.

A process-wide choice, so it is made by what runs the work (the command, the engine's pool),
never inside the image engine. Elsewhere than glibc both calls do nothing.
"""
from __future__ import annotations

import ctypes
import functools

M_MMAP_THRESHOLD = -3


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library, if it is glibc (whose malloc tuning the functions below use); None elsewhere."""
    try:
        # The process's own symbols, the C library's among them: ctypes.util.find_library would run
        # ldconfig in a subprocess, at the start of every `tether stack`.
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


@functools.cache
def limit_heap_growth() -> None:
    """Make glibc give large freed blocks back to the system at once (once per process).

    glibc raises its mmap threshold after the first large free, after which frame-sized
    arrays come from the heap and freed ones stay counted in the process's memory; with a
    fixed 1 MB threshold the peak memory of a stack is what it really uses.
    """
    libc = _glibc()
    if libc is not None:
        libc.mallopt(M_MMAP_THRESHOLD, 1 << 20)


def release_free_heap() -> None:
    """Give the free pages inside glibc's heaps back to the system (pass it as ``on_strip_done``).

    Blocks under the mmap threshold, many of them OpenCV's in its worker threads' arenas, are
    freed but stay resident between live ones: after a 3 MP stack's strips about 8 MB, which
    writing the result would otherwise add to its own peak.
    """
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
