"""The lock that changes to a closed burst take: one writer at a time, on the file the name points to."""
from __future__ import annotations

import os
from pathlib import Path

from tether.burst.errors import BurstBusy, BurstError
from tether.fileio import lock, storage_error


def open_locked(path: Path, flags: int, *, busy: BurstBusy) -> int:
    """``path`` opened with ``flags`` and locked exclusively; raises ``busy`` while another holds the lock.

    A merge or a compaction renames a new file over the burst: a change that opened the old file before
    and got its lock after would write to a file no name points to any more, so the lock counts only
    when the name still points to the file it was taken on.
    """
    for _ in range(8):
        try:
            fd = os.open(path, flags | os.O_CLOEXEC)
        except FileNotFoundError:
            raise BurstError(f"{path}: no such file") from None
        except OSError as exc:
            raise storage_error(exc, path) from None
        if not lock(fd):
            os.close(fd)
            raise busy
        opened = os.fstat(fd)
        try:
            named = os.stat(path)
        except FileNotFoundError:
            named = None
        if named is not None and (named.st_ino, named.st_dev) == (opened.st_ino, opened.st_dev):
            return fd
        os.close(fd)
    raise busy


def being_written(path: Path) -> bool:
    """Whether a writer (a sweep, in this process or another) holds the burst's lock right now.

    The test takes a shared lock for an instant and never waits: a writer's exclusive lock refuses it.
    A file that cannot be opened is not being written; whoever opens it next says what is wrong.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return not lock(fd, shared=True)
    finally:
        os.close(fd)
