"""Writing files so that a crash or a full disk never leaves one half-written."""
from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from tether.errors import TetherError


class StorageError(TetherError):
    """A file could not be written (disk full, no permission, ...)."""


def describe_os_error(exc: OSError, path: Path | str) -> str:
    """A one-line description of ``exc`` that names the file and, for a full disk, says so."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT) or exc.errno == errno.EFBIG:
        return f"{path}: the disk is full (or the file size limit was reached)"
    return f"{path}: {exc.strerror or exc}"


def write_atomic(path: Path | str, data: bytes, *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename: readers see all or nothing."""
    target = Path(path)
    if not overwrite and target.exists():
        raise StorageError(f"{target}: already exists; tether never overwrites it")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
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
    return target
