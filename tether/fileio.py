"""Writing files so that a crash or a full disk never leaves one half-written."""
from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from tether.errors import TetherError

log = logging.getLogger(__name__)


class StorageError(TetherError):
    """A file could not be written (disk full, no permission, ...); ``disk_full``: freeing space would help."""

    def __init__(self, message: str, *, hint: str = "", disk_full: bool = False) -> None:
        super().__init__(message, hint=hint)
        self.disk_full = disk_full

    def reworded(self, message: str | None = None, *, hint: str) -> StorageError:
        """The same failure told with another ``hint`` (and ``message``): whether it is a full disk goes with it."""
        return StorageError(self.message if message is None else message, hint=hint, disk_full=self.disk_full)


#: The errors that more room would cure: a full disk, a full quota, the file size limit.
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def describe_os_error(exc: OSError, path: Path | str) -> str:
    """A one-line description of ``exc`` that names the file and, for a full disk, says so."""
    if exc.errno in _FULL:
        return f"{path}: the disk is full (or the file size limit was reached)"
    return f"{path}: {exc.strerror or exc}"


def storage_error(exc: OSError, path: Path | str, *, hint: str = "") -> StorageError:
    """The :class:`StorageError` for ``exc`` writing ``path``: one line, and whether it is a full disk."""
    return StorageError(describe_os_error(exc, path), hint=hint, disk_full=exc.errno in _FULL)


def remedy(exc: StorageError) -> str:
    """What the person can do about ``exc``, for a hint: more room, or a place that can be written."""
    return "free some space" if exc.disk_full else "choose a folder tether can write to"


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Read once, at import (before any thread of ours runs): os.umask can only be read by setting it.
_UMASK = _read_umask()


def as_new_file(fd: int) -> None:
    """Give a temporary made by ``tempfile.mkstemp`` (always 0600) the mode a newly created file gets
    (0666 less the umask), before it is renamed into place: a still or an export must be readable by
    whoever may read the folder (the photographer's account, when a service user writes it), as a burst is."""
    os.fchmod(fd, 0o666 & ~_UMASK)


#: The name of a temporary tether writes beside its output: ``.NAME.XXXXXXXX.part`` (mkstemp's eight
#: characters, or eight hex digits), an export's with NAME's suffix again after it (ffmpeg picks the format by it).
_TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.part(\.[A-Za-z0-9]{1,8})?")


def lock(fd: int, *, shared: bool = False, wait: bool = False) -> bool:
    """Take an advisory lock on ``fd`` (gone when it is closed); False while another process holds one (and
    ``wait`` was not asked for).

    The one rule for every lock tether takes or tests: a file system without locks (some network and FUSE
    mounts, where flock fails with ENOLCK or EOPNOTSUPP) counts as one where nothing is held. Its writes go
    ahead unguarded rather than fail, and nothing on it is reported as being written.
    """
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    except OSError:  # no locks on this file system: nothing can hold one
        return True
    return True


def hold(fd: int) -> None:
    """Mark an open temporary as in use, so that :func:`remove_leftovers` never deletes it under a writer that
    is still running (where the file system has locks: see :func:`lock`)."""
    if not lock(fd):  # only remove_leftovers takes another's temporary's lock, for an instant, to delete it
        raise BlockingIOError(errno.EWOULDBLOCK, "being removed as a leftover")


def remove_leftovers(folder: Path) -> list[Path]:
    """Delete the temporaries a killed writer left in ``folder`` (a kill -9 during an export): only tether's
    temporary names, and only those no running writer holds. Returns what was deleted."""
    removed: list[Path] = []
    try:
        names = [entry.name for entry in os.scandir(folder) if entry.is_file(follow_symlinks=False)]
    except OSError:
        return removed
    for name in filter(_TEMPORARY.fullmatch, names):
        path = folder / name
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if lock(fd):  # else held by a writer: not a leftover
                path.unlink()
                removed.append(path)
        except OSError:  # already gone
            continue
        finally:
            os.close(fd)
    if removed:
        log.info("removed %d unfinished temporary file(s) from %s", len(removed), folder)
    return removed


def write_atomic(path: Path | str, data: bytes, *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename: readers see all or nothing."""
    return write_atomic_with(path, lambda fh: fh.write(data), overwrite=overwrite)


def write_atomic_with(path: Path | str, write: Callable[[BinaryIO], object], *, overwrite: bool = True) -> Path:
    """Like :func:`write_atomic`, with ``write(file)`` writing the content: an encoder can stream into the file."""
    target = Path(path)
    if not overwrite and target.exists():
        raise StorageError(f"{target}: already exists; tether never overwrites it")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent or ".")
    except OSError as exc:  # a folder that cannot be written (permission, read-only, not a folder, full)
        raise storage_error(exc, target) from None
    try:
        with os.fdopen(fd, "wb") as fh:  # held open (and so locked) until it is in place: see remove_leftovers
            hold(fd)
            as_new_file(fd)
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
            if overwrite:
                os.replace(tmp, target)
            else:
                os.link(tmp, target)  # fails if target appeared meanwhile, instead of clobbering it
                os.unlink(tmp)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise storage_error(exc, target) from None
    except BaseException:  # the writer failed (e.g. an encoder's error): leave nothing behind
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
