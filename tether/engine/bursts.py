"""Burst operations for front ends: gallery summaries, frames as JPEG, delete, exports, refocus, stacks.

Everything is addressed by burst id (see store.py). Slow work runs in the job pool; a tap on the
refocus screen is answered from a focus index kept in memory once it has been loaded.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import cv2

from tether.burst import open_burst
from tether.camera.errors import CameraBusy
from tether.engine.ids import UnknownId
from tether.engine.jobs import JobContext, JobPool, PoolJob
from tether.engine.store import BurstStore
from tether.events import EventBus

log = logging.getLogger(__name__)

#: Name of the focus index in a burst's derived data (shared with the CLI's refocus command).
FOCUS_INDEX = "focus-index.npz"
THUMB_REDUCE = 8


class BurstService:
    """Gallery, frames, delete, export, refocus and stacking over a BurstStore."""

    def __init__(self, store: BurstStore, pool: JobPool, bus: EventBus) -> None:
        self.store = store
        self.pool = pool
        self.bus = bus
        self._lock = threading.Lock()
        self._summaries: dict[str, tuple[tuple[float, int], dict[str, Any]]] = {}
        self._thumbs: dict[str, tuple[tuple[float, int], bytes]] = {}
        self._indexes: OrderedDict[str, tuple[tuple[float, int], Any]] = OrderedDict()
        self._index_jobs: dict[str, PoolJob] = {}
        #: Bursts being written by a sweep right now: they cannot be deleted or indexed yet.
        self.writing: set[str] = set()

    # gallery ------------------------------------------------------------------------------
    def list(self) -> list[dict[str, Any]]:
        """One summary per burst, newest first; a damaged burst is listed with its problem."""
        out = []
        for burst_id in self.store.burst_ids():
            try:
                out.append(self.summary(burst_id))
            except Exception as exc:  # one bad file must not hide the others
                out.append({"id": burst_id, "error": str(exc), "frame_count": 0})
        return out

    def summary(self, burst_id: str) -> dict[str, Any]:
        path = self.store.burst_path(burst_id)
        key = _stamp(path)
        with self._lock:
            cached = self._summaries.get(burst_id)
        if cached and cached[0] == key:
            return cached[1]
        with open_burst(path) as reader:
            info = reader.info()
            times = [m.captured_at for m in reader.frames_meta() if m.captured_at]
        camera = info.get("camera") or {}
        summary = {
            "id": burst_id,
            "created": min(times) if times else path.stat().st_mtime,
            "camera": camera.get("model") or camera.get("id") or "",
            "frame_count": info["frame_count"],
            "status": "writing" if burst_id in self.writing else info["status"],
            "recovered": info["recovered"],
            "sources": info["sources"],
            "sizes": info["sizes"],
            "focus_range": info["focus_range"],
            "bytes": info["bytes"],
            "derived": info["derived"],
            "sweep": info.get("sweep", {}),
            "summary": info.get("summary", {}),
        }
        if burst_id not in self.writing:
            with self._lock:
                self._summaries[burst_id] = (key, summary)
        return summary

    def detail(self, burst_id: str) -> dict[str, Any]:
        """The summary plus every frame's metadata (index, focus position, source, size)."""
        summary = dict(self.summary(burst_id))
        with open_burst(self.store.burst_path(burst_id)) as reader:
            summary["frames"] = [
                {"index": m.index, "focus_position": m.focus_position, "step_class": m.step_class, "source": m.source,
                 "width": m.width, "height": m.height, "corrupt": m.corrupt, "captured_at": m.captured_at}
                for m in reader.frames_meta()
            ]
        return summary

    def frame_jpeg(self, burst_id: str, index: int, *, reduce: int = 1) -> bytes:
        """Frame ``index`` as JPEG: the camera's bytes at full size, else decoded at 1/reduce and re-encoded."""
        with open_burst(self.store.burst_path(burst_id)) as reader:
            if not 0 <= index < reader.frame_count:
                raise UnknownId(f"burst {burst_id} has no frame {index} (it has {reader.frame_count})")
            meta = reader.meta(index)
            if reduce == 1 and meta.mime == "image/jpeg":
                return reader.frame_bytes(index)
            image = reader.frame_image(index, reduce=reduce)
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 88])
        if not ok:
            raise UnknownId(f"frame {index} of burst {burst_id} cannot be shown")
        return encoded.tobytes()

    def thumbnail(self, burst_id: str) -> bytes:
        """A small JPEG of the burst's middle frame (cached)."""
        path = self.store.burst_path(burst_id)
        key = _stamp(path)
        with self._lock:
            cached = self._thumbs.get(burst_id)
        if cached and cached[0] == key:
            return cached[1]
        with open_burst(path) as reader:
            count = reader.frame_count
        if count == 0:
            raise UnknownId(f"burst {burst_id} has no frames yet")
        data = self.frame_jpeg(burst_id, count // 2, reduce=THUMB_REDUCE)
        with self._lock:
            self._thumbs[burst_id] = (key, data)
        return data

    def delete(self, burst_id: str) -> None:
        if burst_id in self.writing:
            raise CameraBusy(f"burst {burst_id} is being written by a sweep", hint="cancel the sweep first")
        self.store.delete_burst(burst_id)
        with self._lock:
            self._summaries.pop(burst_id, None)
            self._thumbs.pop(burst_id, None)
            self._indexes.pop(burst_id, None)
        self.bus.publish("burst.deleted", burst=burst_id)


def _stamp(path: Path) -> tuple[float, int]:
    """What changes when a burst file changes (derived data appended, frames added)."""
    stat = path.stat()
    return stat.st_mtime, stat.st_size
