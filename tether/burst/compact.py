"""Giving back the space that replaced derived items leave in a burst.

A burst is append-only: a derived item stored again (the retouch layer at every stroke, undo and
redo) leaves its old bytes and the old central directory behind as dead space. A layer grows with
its strokes, so without this the file would grow with the square of their count (200 strokes of a
hundred points: 37 MB). When the dead space is more than :data:`SLACK_BYTES` and more than
what is live, :func:`compact` copies the live entries, byte for byte, to a hidden ``.NAME.compacting``
beside the burst, writes its directory, fsyncs it and renames it over the burst. The rename is
atomic, so after ``kill -9`` or a power cut there is the old burst or the compacted one, every frame
readable in both; a full disk leaves the old burst as it was. Each copy is at most as large as the
dead space written since the one before, so the work stays in proportion to what was stored.
"""
from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import replace
from pathlib import Path

from tether.burst.appender import Appender, fsync_dir
from tether.burst.zipcodec import LOCAL, Entry, ZipFormatError, data_offset_from_local
from tether.fileio import StorageError

log = logging.getLogger(__name__)

#: Dead space a burst may keep before it is compacted (a burst is also compacted only when its dead
#: space is more than its live data, so a large burst is copied rarely).
SLACK_BYTES = 16 * 2**20
#: Bytes copied per read and write: bounds the memory a copy takes, whatever the frames' sizes.
_CHUNK = 8 * 2**20


def compacting_path(path: Path) -> Path:
    """Where the compacted burst is written before it replaces ``path``."""
    return path.with_name(f".{path.name}.compacting")


def compact_if_wasteful(path: Path, fd: int, entries: list[Entry], directory_offset: int) -> bool:
    """Compact the burst at ``path`` (open as ``fd``, locked by the caller, its live ``entries`` given, its
    central directory just written at ``directory_offset``) when its dead space is more than
    :data:`SLACK_BYTES` and more than its live data; whether it was."""
    size = os.fstat(fd).st_size
    # what is before the directory and no live entry is dead (tether's entries have no extra field in their
    # local headers: a name's length is the header's); the directory and end records after it are live
    dead = directory_offset - sum(LOCAL.size + len(e.name.encode("utf-8")) + e.csize for e in entries)
    if dead <= max(SLACK_BYTES, size - dead):
        return False
    try:
        known = [e if e.data_offset >= 0 else
                 replace(e, data_offset=data_offset_from_local(os.pread(fd, LOCAL.size + 1024, e.offset), e))
                 for e in entries]
    except (OSError, ZipFormatError) as exc:
        log.warning("could not compact %s: %s", path, exc)
        return False
    return compact(path, fd, known)


def compact(path: Path, fd: int, entries: list[Entry]) -> bool:
    """Replace the burst at ``path`` (open as ``fd``, locked by the caller) by a copy of its live ``entries``
    only (data offsets known); False, with the burst left as it was, when the copy cannot be written."""
    target = compacting_path(path)
    target.unlink(missing_ok=True)  # a compaction killed before its rename
    try:
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, os.fstat(fd).st_mode & 0o777)
    except OSError as exc:
        log.warning("could not compact %s: %s", path, exc)
        return False
    try:
        moved, pos = [], 0
        for e in sorted(entries, key=lambda e: e.offset):
            length = e.data_offset - e.offset + e.csize
            _copy(fd, out, e.offset, pos, length)
            moved.append(replace(e, offset=pos, data_offset=pos + e.data_offset - e.offset))
            pos += length
        Appender(out, target, pos, moved).finish()  # the directory, then fsync
        os.replace(target, path)
    except (OSError, StorageError) as exc:
        log.warning("could not compact %s: %s", path, exc)
        with contextlib.suppress(OSError):
            target.unlink()
        return False
    finally:
        os.close(out)
    fsync_dir(path)
    return True


def _copy(src: int, dst: int, src_offset: int, dst_offset: int, length: int) -> None:
    done = 0
    while done < length:
        chunk = os.pread(src, min(_CHUNK, length - done), src_offset + done)
        if not chunk:
            raise OSError(f"the burst ends {length - done} bytes short of an entry")
        view = memoryview(chunk)
        while view:
            n = os.pwrite(dst, view, dst_offset + done)
            done += n
            view = view[n:]
