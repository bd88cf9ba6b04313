"""Writing a burst while the sweep runs: one durable append per frame, the manifest at close."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from tether import __version__
from tether.burst.appender import Appender, fsync_dir
from tether.burst.errors import BurstError, CorruptBurst
from tether.burst.format import (
    EXT_MIME,
    FORMAT_NAME,
    FORMAT_VERSION_TEXT,
    HEADER_ENTRY,
    MANIFEST_ENTRY,
    MIME_EXT,
    derived_entry,
    frame_entry,
    meta_entry,
)
from tether.burst.meta import FrameMeta
from tether.burst.zipcodec import Entry, crc32
from tether.fileio import StorageError, lock, storage_error
from tether.imagebytes import image_size, sniff_mime
from tether.numbering import frame_number

log = logging.getLogger(__name__)

_FRAME_HINT = "frames written before this one are kept; 'tether burst repair' closes a burst that was left open"


def to_json(value: Any, what: str) -> bytes:
    """Compact UTF-8 JSON of ``value``; a BurstError naming ``what`` when it is not JSON-able."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise BurstError(f"{what} cannot be stored as JSON: {exc}") from None


class BurstWriter:
    """Appends frames to a new burst file; every frame is on disk when ``append`` returns."""

    def __init__(self, path: Path, fd: int, header: dict[str, Any], *, fsync: bool) -> None:
        self.path = path
        self._fd = fd
        self._header = header
        self._appender = Appender(fd, path, 0, sync=fsync, hint=_FRAME_HINT)
        self._frames: list[dict[str, Any]] = []
        self._frame_entries: list[Entry] = []
        self._next_index = 0
        self._lock = threading.Lock()
        self._closed = False
        self._derived: dict[str, dict[str, Any]] = {}
        self._hasher: ThreadPoolExecutor | None = None
        self._pending: deque[tuple[int, Future[str]]] = deque()

    @classmethod
    def create(cls, path: Path | str, *, camera: dict[str, Any], sweep: dict[str, Any],
               fsync: bool = True) -> BurstWriter:
        """Create a new burst at ``path`` (never overwriting one) and write its header entry."""
        path = Path(path)
        created_at = time.time()
        header = {
            "format": FORMAT_NAME, "version": FORMAT_VERSION_TEXT, "tether_version": __version__,
            "created_at": created_at, "camera": camera, "sweep": sweep,
        }
        header_bytes = to_json(header, f"{path}: camera/sweep description")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            raise BurstError(f"{path}: already exists; tether never overwrites a burst") from None
        except OSError as exc:
            raise storage_error(exc, path) from None
        # the lock tells store_derived/repair in other processes that a sweep is still writing
        lock(fd, wait=True)  # a new file: it waits at most for another's instant test (being_written)
        writer = cls(path, fd, header, fsync=fsync)
        try:
            writer._appender.add([(HEADER_ENTRY, header_bytes, created_at)], sync=fsync)
            if fsync:
                fsync_dir(path)
        except BaseException:
            os.close(fd)
            path.unlink(missing_ok=True)  # nothing captured yet: an empty husk helps no one
            raise
        return writer

    @property
    def frame_count(self) -> int:
        """How many frames have been appended (and are durable)."""
        return len(self._frames)

    @property
    def closed(self) -> bool:
        return self._closed

    def append(self, data: bytes, meta: FrameMeta, *, keep_index: bool = False) -> int:
        """Store ``data`` exactly as given with its metadata record; returns the frame's index.

        ``keep_index`` (used by repair) keeps ``meta.index`` when it is past the last one, leaving a gap.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise BurstError(f"frame data must be bytes, got {type(data).__name__}")
        with self._lock:
            self._check_open()
            index = self._next_index
            if keep_index:
                if meta.index < index:
                    raise BurstError(f"{self.path}: frame index {meta.index} is not after {index - 1}")
                index = meta.index
            meta = complete_meta(data, meta, index, sha256="")
            name = frame_entry(index, frame_ext(meta))
            crc = crc32(data)
            # the record names the frame's CRC-32 (how a recovery scan pairs them); SHA-256 comes at close
            record = to_json(dict(meta.to_dict(), entry=name, crc32=f"{crc:08x}"),
                             f"{self.path}: metadata of frame {frame_number(index)}")
            # the record goes first: a frame entry in the file always has its metadata before it
            _, stored = self._appender.add([(meta_entry(index), record, meta.captured_at),
                                            (name, data, meta.captured_at)], crcs=(None, crc))
            self._frames.append(dict(meta.to_dict(), entry=name))
            self._frame_entries.append(stored)
            self._hash_later(len(self._frames) - 1, data)
            self._next_index = index + 1
            return index

    def frame_bytes(self, pos: int) -> bytes:
        """The bytes of the ``pos``-th frame appended, read back from the file while the burst is still
        written: whoever works on the frames beside the sweep holds only a few of them in memory."""
        entry = self._frame_entries[pos]
        try:
            with self.path.open("rb") as fh:
                fh.seek(entry.data_offset)
                data = fh.read(entry.size)
        except OSError as exc:
            raise storage_error(exc, self.path) from None
        if len(data) != entry.size:
            raise CorruptBurst(f"{self.path}: frame {frame_number(pos)} is cut short in the file")
        return data

    def _hash_later(self, pos: int, data: bytes) -> None:
        """SHA-256 on a worker thread, off the durable path; bounded so at most a few frames wait in memory."""
        if self._hasher is None:
            self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="burst-sha256")
        self._pending.append((pos, self._hasher.submit(_sha256, data)))
        while self._pending and (len(self._pending) > _MAX_PENDING or self._pending[0][1].done()):
            done_pos, future = self._pending.popleft()
            self._frames[done_pos]["sha256"] = future.result()

    def _drain_hashes(self) -> None:
        while self._pending:
            done_pos, future = self._pending.popleft()
            self._frames[done_pos]["sha256"] = future.result()
        if self._hasher is not None:
            self._hasher.shutdown(wait=True)
            self._hasher = None

    def add_derived(self, name: str, data: bytes) -> None:
        """Store derived data (e.g. a depth map) before closing; listed in the manifest's ``derived``."""
        with self._lock:
            self._check_open()
            entry = derived_entry(name)
            if name in self._derived:
                raise BurstError(f"{self.path}: derived data {name!r} was already added",
                                 hint="replace it with store_derived after closing")
            now = time.time()
            self._appender.add([(entry, data, now)])
            self._derived[name] = {"entry": entry, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                                   "added_at": now}

    def _check_open(self) -> None:
        if self._closed:
            raise BurstError(f"{self.path}: the burst is closed; nothing more can be added")

    def close(self, summary: dict[str, Any] | None = None, *, status: str = "complete", error: str = "") -> None:
        """Write the manifest and the central directory; after this any unzip tool opens the file."""
        with self._lock:
            if self._closed:
                return
            if not isinstance(summary, (dict, type(None))) or not isinstance(status, str) or not isinstance(error, str):
                raise BurstError("close(summary, status=, error=) takes a dict and two strings")
            to_json(summary, f"{self.path}: sweep summary")  # refuse a bad summary while the writer is still open
            self._closed = True
            try:
                self._drain_hashes()
                manifest = dict(self._header, closed_at=time.time(), status=status, error=error,
                                summary=summary or {}, frame_count=len(self._frames), frames=self._frames,
                                derived=self._derived)
                data = to_json(manifest, f"{self.path}: manifest (summary)")
                self._appender.add([(MANIFEST_ENTRY, data, manifest["closed_at"])], sync=False)
                self._appender.finish()
            except StorageError as exc:
                raise exc.reworded(hint="the frames are safe; run 'tether burst repair' on this file") from None
            finally:
                os.close(self._fd)  # also releases the lock

    def __enter__(self) -> BurstWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
            return
        # a cancelled or failed sweep still leaves a valid burst with every frame it captured
        try:
            self.close(status="interrupted", error=f"{exc_type.__name__}: {exc}")
        except BurstError as close_exc:
            log.warning("%s", close_exc)
        except StorageError as close_exc:
            log.warning("%s", close_exc)


#: Frames whose SHA-256 may still be computing (their bytes stay referenced until then).
_MAX_PENDING = 4


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def complete_meta(data: bytes, meta: FrameMeta, index: int, *, sha256: str | None = None) -> FrameMeta:
    """``meta`` with index, checksum, MIME type and (when missing) image size filled in, type-checked."""
    if not isinstance(meta, FrameMeta):
        raise BurstError(f"frame metadata must be a FrameMeta, got {type(meta).__name__}")
    mime = meta.mime or sniff_mime(data) or EXT_MIME.get(Path(meta.filename).suffix.lower().lstrip("."), "")
    width, height = meta.width, meta.height
    if not (width and height):
        width, height = image_size(data)
    meta = replace(meta, index=index, sha256=hashlib.sha256(data).hexdigest() if sha256 is None else sha256,
                   mime=mime or "application/octet-stream", width=width, height=height,
                   captured_at=float(meta.captured_at or time.time()))
    try:  # the same checks a reader applies, so nothing unreadable is ever written
        return FrameMeta.from_dict(meta.to_dict(), f"frame {frame_number(index)}")
    except CorruptBurst as exc:
        raise BurstError(exc.message) from None


def frame_ext(meta: FrameMeta) -> str:
    """The entry extension: the camera file name's (a RAW keeps ``.rw2``), else from the MIME type."""
    ext = Path(meta.filename).suffix.lower().lstrip(".")
    if ext and ext.isalnum() and len(ext) <= 8 and ext.isascii():
        return "jpg" if ext == "jpeg" else ext
    return MIME_EXT.get(meta.mime, "bin")
