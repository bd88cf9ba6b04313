"""Append-only ZIP writing: entries go after the last byte, the directory goes after the entries.

Bytes already in the file are never rewritten, so whatever was durable before a call stays
readable after a crash in the middle of it (the reader's scan finds the local entries).
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from tether.burst.zipcodec import Entry, central_header, crc32, dos_datetime, end_records, local_header
from tether.fileio import storage_error

# macOS has no fdatasync (fsync is the closest there); some systems lack pwritev
_datasync = getattr(os, "fdatasync", os.fsync)


def _pwritev(fd: int, views: list[memoryview], offset: int) -> int:
    if hasattr(os, "pwritev"):
        return os.pwritev(fd, views, offset)
    return os.pwrite(fd, views[0], offset)  # pragma: no cover - a short write the loop below continues


def _write_all(fd: int, parts: Sequence[bytes | memoryview], offset: int) -> int:
    """``pwritev`` until every byte of ``parts`` is at ``offset``; returns the byte count."""
    views = [memoryview(p).cast("B") for p in parts if len(p)]
    total = sum(len(v) for v in views)
    written = 0
    while views:
        n = _pwritev(fd, views[:1024], offset + written)
        if n <= 0:  # pragma: no cover - a regular file never returns 0 without an error
            raise OSError(28, "No space left on device")
        written += n
        while views and n >= len(views[0]):
            n -= len(views[0])
            views.pop(0)
        if views and n:
            views[0] = views[0][n:]
    return total


class Appender:
    """Adds stored entries at the end of an open file and writes its central directory."""

    def __init__(self, fd: int, path: Path, offset: int, entries: list[Entry] | None = None, *, sync: bool = True,
                 hint: str = "") -> None:
        self.fd = fd
        self.path = path
        self.offset = offset
        self.entries: list[Entry] = list(entries or [])
        self.sync = sync
        self.hint = hint
        #: Where the central directory :meth:`finish` wrote last begins (-1: none yet).
        self.directory_offset = -1

    def add(self, items: Sequence[tuple[str, bytes | memoryview, float]], *, sync: bool | None = None,
            crcs: Sequence[int | None] = ()) -> list[Entry]:
        """Write ``(name, data, epoch)`` entries in one call; durable on return when syncing.

        ``crcs`` may give CRC-32s the caller already computed (by position), to avoid a second pass.
        """
        parts: list[bytes | memoryview] = []
        new: list[Entry] = []
        pos = self.offset
        for k, (name, data, epoch) in enumerate(items):
            dtime, ddate = dos_datetime(epoch)
            known = crcs[k] if k < len(crcs) else None
            crc = crc32(data) if known is None else known
            header = local_header(name.encode("utf-8"), len(data), crc, dtime, ddate)
            entry = Entry(name, pos, len(data), crc, dos_time=dtime, dos_date=ddate, data_offset=pos + len(header))
            parts += [header, data]
            pos += len(header) + len(data)
            new.append(entry)
        self._write(parts, sync=self.sync if sync is None else sync)
        self.entries.extend(new)
        return new

    def finish(self, entries: Sequence[Entry] | None = None) -> None:
        """Write the central directory of ``entries`` (default: all added) and the end records; fsync."""
        entries = self.entries if entries is None else list(entries)
        directory = b"".join(central_header(e) for e in entries)
        self.directory_offset = self.offset
        self._write([directory, end_records(len(entries), self.offset, len(directory))], sync=True, full=True)

    def _write(self, parts: Sequence[bytes | memoryview], *, sync: bool, full: bool = False) -> None:
        start = self.offset
        try:
            n = _write_all(self.fd, parts, start)
            if sync:
                # fdatasync also flushes the new file size, which is all a reader needs;
                # the directory write (full) syncs everything once.
                (os.fsync if full else _datasync)(self.fd)
        except OSError as exc:
            self._fail(start, exc)
        self.offset = start + n

    def _fail(self, start: int, exc: OSError) -> None:
        with contextlib.suppress(OSError):  # leave no half entry behind: the file ends after the last complete one
            os.ftruncate(self.fd, start)
        raise storage_error(exc, self.path, hint=self.hint) from None


def fsync_dir(path: Path) -> None:
    """Make a new file's directory entry durable (a power loss could otherwise lose the whole file)."""
    try:
        fd = os.open(path.parent if str(path.parent) else ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
