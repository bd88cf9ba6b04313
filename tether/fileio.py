"""Writing files so that a crash or a full disk never leaves one half-written."""
from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from tether.errors import TetherError


class StorageError(TetherError):
    """A file could not be written (disk full, no permission, ...)."""


def describe_os_error(exc: OSError, path: Path | str) -> str:
    """A one-line description of ``exc`` that names the file and, for a full disk, says so."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT) or exc.errno == errno.EFBIG:
        return f"{path}: the disk is full (or the file size limit was reached)"
    return f"{path}: {exc.strerror or exc}"


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


def write_atomic(path: Path | str, data: bytes, *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename: readers see all or nothing."""
    return write_atomic_with(path, lambda fh: fh.write(data), overwrite=overwrite)


def write_atomic_with(path: Path | str, write: Callable[[BinaryIO], object], *, overwrite: bool = True) -> Path:
    """Like :func:`write_atomic`, with ``write(file)`` writing the content: an encoder can stream into the file."""
    target = Path(path)
    if not overwrite and target.exists():
        raise StorageError(f"{target}: already exists; tether never overwrites it")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent or ".")
    try:
        as_new_file(fd)
        with os.fdopen(fd, "wb") as fh:
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
        raise StorageError(describe_os_error(exc, target)) from None
    except BaseException:  # the writer failed (e.g. an encoder's error): leave nothing behind
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
