"""Burst operations for front ends: gallery summaries, frames as JPEG, delete, exports, refocus, stacks.

Everything is addressed by burst id (see store.py). Slow work runs in the job pool; a tap on the
refocus screen is answered from a focus index kept in memory once it has been loaded.
"""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tether.burst import BurstBusy, keep_derived, open_burst, store_derived
from tether.burst.exports import Progress, export_frame, export_mp4, export_zip, frame_suffix
from tether.burst.labels import LABELS_NAME, burst_labels
from tether.burst.locking import being_written
from tether.burst.recent import Recent
from tether.capture.live_analysis import STACK_PREVIEW_NAME
from tether.engine.browser_jpeg import THUMB_REDUCE, browser_jpeg
from tether.engine.burst_frames import BurstFrames, check_frame_index, frame_pixels, readable_frames
from tether.engine.heap import limit_heap_growth, release_free_heap
from tether.engine.naming import folded
from tether.engine.retouch_layer import keep_for_retouch, stack_thumbnail
from tether.engine.store import PANEL_SUFFIX, BurstStore
from tether.errors import NotFound, NotReady
from tether.events import EventBus
from tether.imaging import (
    FOCUS_INDEX_NAME,
    FORMATS,
    METHODS,
    FocusIndex,
    compute_focus_index,
    depth_map_png,
    encode_image,
    motion_map,
    stack_frames,
    write_image,
)
from tether.imaging.frame_range import frame_positions
from tether.imaging.slabs import stack_slabs
from tether.jobs import Job, JobPool
from tether.numbering import frame_number

log = logging.getLogger(__name__)
T = TypeVar("T")
K = TypeVar("K")
#: A burst file's inode, device, size and mtime (ns): what changes when the file changes (see _stamp).
Stamp = tuple[int, int, int, int]

#: Focus indexes kept in memory (a few hundred kB each) so taps never touch the disk.
INDEX_CACHE = 8


@dataclass(frozen=True)
class LoadedIndex:
    """A burst's focus index and which burst frame each of its frames is (corrupt frames are skipped)."""

    index: FocusIndex
    frames: tuple[int, ...]

    def burst_frame(self, k: int) -> int:
        return self.frames[k]


class BurstService:
    """Gallery, frames, delete, export, refocus and stacking over a BurstStore."""

    def __init__(self, store: BurstStore, pool: JobPool, bus: EventBus) -> None:
        self.store = store
        self.pool = pool
        self.bus = bus
        self._lock = threading.Lock()
        # read-modify-write of a burst's labels: its own lock, as it waits on the disk (refocus taps take _lock)
        self._labels_lock = threading.Lock()
        self._summaries: dict[str, tuple[Stamp, dict[str, Any]]] = {}
        self._thumbs: dict[str, tuple[Stamp, bytes]] = {}
        #: burst id -> (the file's stamp when the index was loaded or computed, the index)
        self._indexes: Recent[str, tuple[Stamp, LoadedIndex]] = Recent(INDEX_CACHE)
        self._index_jobs: dict[str, Job] = {}
        #: (burst id, format, frame) -> the export job writing it: the same export asked again joins it
        self._export_jobs: dict[tuple[str, str, int | None], Job] = {}
        #: Bursts being written by a sweep right now: they cannot be deleted or indexed yet.
        self.writing: set[str] = set()

    # gallery ------------------------------------------------------------------------------
    def list(self, *, session: str | None = None, query: str = "") -> list[dict[str, Any]]:
        """One summary per burst (of ``session`` only, when given; whose name, title or notes contain
        ``query``, when given), newest capture first (not newest file: refocusing or stacking an old
        burst writes into it); a damaged burst is listed, last, with its problem."""
        out = []
        for burst_id in self.store.burst_ids(session):
            try:
                out.append(self.summary(burst_id))
            except Exception as exc:  # one bad file must not hide the others
                out.append({"id": burst_id, "error": str(exc), "frame_count": 0})
        words = folded(query).split()
        if words:
            out = [b for b in out if all(w in folded(" ".join((b["id"], b.get("title", ""), b.get("notes", ""))))
                                         for w in words)]
        return sorted(out, key=lambda b: b.get("created", 0.0), reverse=True)

    def summary(self, burst_id: str) -> dict[str, Any]:
        """Gallery facts about one burst (cached until its file changes)."""
        return self._cached(self._summaries, burst_id, lambda path, writing: self._summarise(burst_id, path, writing))

    def _summarise(self, burst_id: str, path: Path, writing: bool) -> dict[str, Any]:
        with open_burst(path) as reader:
            info = reader.info()
            times = [m.captured_at for m in reader.frames_meta() if m.captured_at]
            labels = burst_labels(reader)
        camera = info.get("camera") or {}
        return {
            "id": burst_id,
            "session": self.store.sessions.of_path(path),
            **labels,
            "created": min(times) if times else path.stat().st_mtime,
            "camera": camera.get("model") or camera.get("id") or "",
            "frame_count": info["frame_count"],
            "status": "writing" if writing else info["status"],
            "recovered": info["recovered"],
            "sources": info["sources"],
            "sizes": info["sizes"],
            "focus_range": info["focus_range"],
            "bytes": info["bytes"],
            "derived": info["derived"],
            "sweep": info.get("sweep", {}),
            "summary": info.get("summary", {}),
        }

    def _cached(self, table: dict[str, tuple[Stamp, T]], burst_id: str, make: Callable[[Path, bool], T]) -> T:
        """``make(path, writing)`` for this burst, remembered until the file's size or time changes (not while it is
        being written: ``writing``)."""
        path = self.store.burst_path(burst_id)
        key = _stamp(path)
        with self._lock:
            cached = table.get(burst_id)
        if cached and cached[0] == key:
            return cached[1]
        writing = self._being_written(burst_id, path)
        value = make(path, writing)
        if not writing:
            with self._lock:
                table[burst_id] = (key, value)
        return value

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
            meta = reader.meta(check_frame_index(reader, burst_id, index))
            if reduce == 1 and meta.mime == "image/jpeg":
                return reader.frame_bytes(index)
            image = frame_pixels(reader, index, reduce=reduce)
        return browser_jpeg(image, f"frame {frame_number(index)} of burst {burst_id}")

    def thumbnail(self, burst_id: str) -> bytes:
        """A small JPEG of the burst's stack, once it has one (the picture the Stack page shows, strokes aside),
        else of its middle frame (cached)."""
        def make(path: Path, _writing: bool) -> bytes:
            with open_burst(path) as reader:
                count = reader.frame_count
                stack = stack_thumbnail(reader, burst_id)
            if stack is not None:
                return stack
            if count == 0:
                raise NotFound(f"burst {burst_id} has no frames yet")
            return self.frame_jpeg(burst_id, count // 2, reduce=THUMB_REDUCE)

        return self._cached(self._thumbs, burst_id, make)

    def stack_preview(self, burst_id: str) -> bytes:
        """The small all-in-focus picture the sweep's analysis built (JPEG), as kept in the burst."""
        with open_burst(self.store.burst_path(burst_id)) as reader:
            if STACK_PREVIEW_NAME not in reader.derived_names():
                raise NotFound(f"burst {burst_id} keeps no stack preview",
                               hint="its sweep was cut short, or it was imported or made before previews were kept")
            return reader.derived(STACK_PREVIEW_NAME)

    def delete(self, burst_id: str) -> None:
        self.check_not_writing(burst_id)
        self.store.delete_burst(burst_id)
        with self._lock:
            self._summaries.pop(burst_id, None)
            self._thumbs.pop(burst_id, None)
        self._indexes.drop(burst_id)
        self.bus.publish("burst.deleted", burst=burst_id)

    def annotate(self, burst_id: str, *, title: str | None = None, notes: str | None = None) -> dict[str, Any]:
        """Give a burst a title (its name in the gallery; the file keeps its id) and notes, kept in the burst
        itself so that they travel with the file; None leaves a field as it was."""
        path = self.store.burst_path(burst_id)
        self.check_not_writing(burst_id)
        with self._labels_lock:
            with open_burst(path) as reader:
                labels = burst_labels(reader)
            labels.update({k: v.strip() for k, v in (("title", title), ("notes", notes)) if v is not None})
            store_derived(path, LABELS_NAME, json.dumps(labels, ensure_ascii=False).encode())
        self.bus.publish("burst.changed", burst=burst_id)
        return self.summary(burst_id)

    def forget(self, burst_id: str) -> None:
        """Drop what is cached of a burst whose frames changed (a merge): its focus index described the old ones."""
        self._indexes.drop(burst_id)

    # exports ------------------------------------------------------------------------------
    def start_export(self, burst_id: str, fmt: str, *, frame: int | None = None) -> Job:
        """Export as 'zip' (tagged JPEGs), 'mp4' (H.264) or 'frame' (one JPEG with EXIF) into exports/.

        The same export asked for again while it is queued or running is answered with that job, not a
        second identical file. The result's ``skipped``: the frames left out, damaged in the burst (counted
        from 1, like every frame number a person reads)."""
        path = self.store.burst_path(burst_id)
        self.check_not_writing(burst_id)
        if fmt == "frame":  # a frame the burst does not have is refused now (404), not by the job later
            with open_burst(path) as reader:
                check_frame_index(reader, burst_id, frame)
        else:
            frame = None  # one export of the whole burst, whatever else was sent

        def work(job: Job) -> dict[str, Any]:
            with open_burst(path) as reader:
                if fmt == "frame":
                    index = check_frame_index(reader, burst_id, frame)
                    name = f"{burst_id}-frame{frame_number(index):04d}"
                    saved = self.store.find_export(name)
                    job.report(1, 1)
                    if saved is not None:  # the same frame saved again is the same file, not a copy
                        return self.exported(saved.id, saved.path, new=False, skipped=())
                    export_id, out = self.store.new_export_path(frame_suffix(reader, index), name, exact=True)
                    export_frame(reader, index, out)
                    skipped: tuple[int, ...] = ()
                else:
                    export_id, out = self.store.new_export_path(f".{fmt}", burst_id)
                    progress = _progress_checking(job)
                    export = export_zip if fmt == "zip" else export_mp4
                    skipped = export(reader, out, progress=progress).skipped
            return self.exported(export_id, out, skipped=skipped)

        label = {"zip": "Export JPEGs", "mp4": "Export MP4", "frame": f"Save frame {frame_number(frame or 0)}"}[fmt]
        return self._joined(self._export_jobs, (burst_id, fmt, frame), lambda: self.pool.submit(
            "export", work, label=label, subject=burst_id, task={"fmt": fmt, "frame": frame}))

    def _joined(self, jobs: dict[K, Job], key: K, submit: Callable[[], Job]) -> Job:
        """The job in ``jobs`` under ``key`` while it is queued or running, else a new one from ``submit()``:
        work asked for again while it is under way is not done twice."""
        with self._lock:
            for done in [k for k, job in jobs.items() if job.state not in ("queued", "running")]:
                del jobs[done]
            if key not in jobs:
                jobs[key] = submit()
            return jobs[key]

    def exported(self, export_id: str, out: Path, *, new: bool = True,
                 skipped: tuple[int, ...] | None = None) -> dict[str, Any]:
        """An export job's result for the file ``out``; ``new``: announce it to the panel (``export.added``);
        ``skipped``: for a burst export, the indices of the frames it left out (damaged in the burst)."""
        if new:
            self.bus.publish("export.added", export=export_id, name=out.name)
        result = {"export": export_id, "name": out.name, "bytes": out.stat().st_size}
        if skipped is not None:
            result["skipped"] = [frame_number(i) for i in skipped]
        return result

    def delete_export(self, export_id: str) -> None:
        """Delete an export the user made (see BurstStore.delete_export) and tell every panel (``export.deleted``)."""
        self.store.delete_export(export_id)
        self.bus.publish("export.deleted", export=export_id)

    # refocus --------------------------------------------------------------------------------
    def prepare_refocus(self, burst_id: str) -> Job | None:
        """None when the focus index is ready (memory or the burst's cache), else the job computing it."""
        if self._loaded(burst_id) is not None:
            return None
        self.check_not_writing(burst_id)
        return self._joined(self._index_jobs, burst_id, lambda: self.pool.submit(
            "refocus-map", lambda job: self._compute_index(burst_id, job), label="Preparing refocus",
            subject=burst_id, task={}))

    def _loaded(self, burst_id: str) -> LoadedIndex | None:
        """The focus index from memory, else from the burst's derived data, else None. The one in memory counts
        while the file is unchanged, or is the same file with the same frames (derived data was added: a title,
        a stack); not once another program renamed another burst over it or added frames."""
        path = self.store.burst_path(burst_id)
        stamp = _stamp(path)
        cached = self._indexes.get(burst_id)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        if burst_id in self.writing:
            return None
        with open_burst(path) as reader:
            frames = tuple(i for i, m in enumerate(reader.frames_meta()) if not m.corrupt)
            if cached is not None and cached[0][:2] == stamp[:2] and cached[1].frames == frames:
                return self._remember(burst_id, cached[1], stamp)
            if FOCUS_INDEX_NAME not in reader.derived_names():
                return None
            index = FocusIndex.from_bytes(reader.derived(FOCUS_INDEX_NAME))
        return self._remember(burst_id, LoadedIndex(index, frames), stamp)

    def _remember(self, burst_id: str, loaded: LoadedIndex, stamp: Stamp | None = None) -> LoadedIndex:
        """Keep ``loaded`` for the burst's file as it is now (call it after storing derived data in it), or as
        ``stamp`` found it."""
        stamp = stamp or _stamp(self.store.burst_path(burst_id))
        self._indexes.put(burst_id, (stamp, loaded))
        return loaded

    def _compute_index(self, burst_id: str, job: Job) -> dict[str, Any]:
        path = self.store.burst_path(burst_id)
        limit_heap_growth()
        with open_burst(path) as reader:
            source = BurstFrames(reader)
            index = compute_focus_index(source, progress=lambda d, t, _s: job.report(d, t, phase="analysing"),
                                        cancel=lambda: job.cancelled)
            frames = tuple(source.indices)
        reason = keep_derived(path, {FOCUS_INDEX_NAME: index.to_bytes()}, what="the focus index")
        if reason:
            log.warning("burst %s: %s", burst_id, reason)
        self._remember(burst_id, LoadedIndex(index, frames))
        return {"burst": burst_id, "frames": len(frames)}

    def loaded_index(self, burst_id: str) -> LoadedIndex | None:
        """The burst's focus index if it has been computed (memory or the burst), else None."""
        return self._loaded(burst_id)

    def ready_index(self, burst_id: str) -> LoadedIndex:
        """The burst's focus index; NotReady (with how to make it) while it has not been computed."""
        loaded = self._loaded(burst_id)
        if loaded is None:
            raise NotReady(f"the refocus map of burst {burst_id} is not ready yet",
                           hint="POST /api/bursts/<id>/refocus-map starts it; wait for its job")
        return loaded

    def refocus(self, burst_id: str, fx: float, fy: float) -> dict[str, Any]:
        """The burst frame sharpest at (fx, fy), given as fractions (0..1) of the picture's width and height."""
        loaded = self.ready_index(burst_id)
        h, w = loaded.index.shape
        answer = loaded.index.refocus(min(fx * w, w - 1e-3), min(fy * h, h - 1e-3))
        # On a moving subject no frame is named (frame None, "moving" true): any would be a wrong answer.
        return {"frame": None if answer.frame is None else loaded.burst_frame(answer.frame),
                "confidence": round(answer.confidence, 3),
                "alternatives": [loaded.burst_frame(k) for k in answer.alternatives], "moving": answer.moving}

    def depth_map_png(self, burst_id: str) -> bytes:
        return depth_map_png(self.ready_index(burst_id).index)

    # stacking -------------------------------------------------------------------------------
    def start_stack(self, burst_id: str, *, method: str, fmt: str, frames: tuple[int, int] | None,
                    slabs: int | None = None) -> Job:
        """Stack all frames or the burst frames ``frames`` = (first, last) into exports/ (+ a JPEG preview).

        ``method`` and ``fmt`` name entries of ``tether.imaging.METHODS`` and ``FORMATS``; ``slabs``: stack
        that many overlapping slabs, then the slabs. The stack (and its slabs) is kept in the burst as the
        base of a new retouch layer (tether.engine.retouch).
        """
        path = self.store.burst_path(burst_id)
        self.check_not_writing(burst_id)
        output, label = FORMATS.pick(fmt), METHODS.pick(method).label
        if frames is not None:  # a range past the burst's frames is refused now, not in the job
            with open_burst(path) as reader:
                _source_range(readable_frames(reader), frames)

        def work(job: Job) -> dict[str, Any]:
            limit_heap_growth()
            loaded = self._loaded(burst_id)

            def progress(done: int, total: int, stage: str) -> None:
                job.report(done, total, phase=stage)

            with open_burst(path) as reader:
                source = BurstFrames(reader)
                selected = _source_range(source.indices, frames)
                slabbed = None
                if slabs:  # the slabs share the focus index of all frames: made first if there is none yet
                    index = loaded.index if loaded else compute_focus_index(source, progress=progress,
                                                                            cancel=lambda: job.cancelled)
                    slabbed = stack_slabs(source, count=slabs, method=method, frames=selected, index=index,
                                          progress=progress, cancel=lambda: job.cancelled,
                                          on_strip_done=release_free_heap)
                    result = slabbed.result
                else:
                    result = stack_frames(source, method=method, frames=selected,
                                          index=loaded.index if loaded else None, progress=progress,
                                          cancel=lambda: job.cancelled, on_strip_done=release_free_heap)
                first, last = source.indices[selected.start], source.indices[selected.stop - 1]
                how = f"{method}, {slabs} slabs" if slabs else method
                note = f"tether focus stack of {len(selected)} frames ({first}-{last}) of burst {burst_id}, {how}"
                export_id, out = self.store.new_export_path(output.suffix, f"{burst_id}-stack")
                write_image(out, result.image, exif_from=source.exif_source(), note=note)
                stacked, uncovered = len(selected) - len(result.excluded), round(result.uncovered, 4)
                # what the panel says of the stack, kept with it so that a reload says it again
                warnings = keep_for_retouch(path, result.image, about={"method": method, "range": [first, last],
                                                                       "slabs": slabs or 0, "export": export_id,
                                                                       "frames": stacked, "uncovered": uncovered},
                                            slabs=slabbed, numbers=source.indices, index=result.index)
                if loaded is None:  # after keep_for_retouch, which changes the file the index is kept for
                    self._remember(burst_id, LoadedIndex(result.index, tuple(source.indices)))
            done = self.exported(export_id, out)
            preview = export_id
            if not output.browsers_show:  # a JPEG beside it for the page
                preview, preview_path = self.store.new_export_path(PANEL_SUFFIX, f"{burst_id}-stack")
                preview_path.write_bytes(encode_image(result.image, ".jpg", note=note))
            motion = None  # the motion map, beside the stack, when a moving subject was taken from one frame
            if result.index.motion.any():
                motion, motion_path = self.store.new_export_path(".png", f"{burst_id}-motion-map")
                write_image(motion_path, motion_map(result.index))
            return {**done, "preview": preview, "frames": stacked, "range": [first, last],
                    "method": method, "covered_box": list(result.valid_box), "uncovered": uncovered,
                    "motion_map": motion, "slabs": slabs or 0,
                    "warnings": [f"frame {frame_number(source.indices[i])} could not be registered to the other "
                                 "frames (another scene, or no texture) and was left out"
                                 for i in result.excluded] + warnings}

        # labels are for people: frames counted from 1, as the pages show them
        extent = ("" if frames is None else f", frames {frame_number(frames[0])}-{frame_number(frames[1])}") + (
            f", {slabs} slabs" if slabs else "")
        return self.pool.submit("stack", work, label=f"Stack ({label}{extent})", subject=burst_id,
                                task={"method": method, "fmt": fmt, "frames": frames, "slabs": slabs})

    def check_not_writing(self, burst_id: str) -> None:
        """BurstBusy while a sweep still writes the burst: what would change or export it waits for the end."""
        if burst_id in self.writing:
            raise BurstBusy(f"burst {burst_id} is still being written by a sweep", hint="wait for the sweep to end")
        if being_written(self.store.burst_path(burst_id)):  # a sweep of the CLI (or another server) on the data dir
            raise BurstBusy(f"burst {burst_id} is still being written by another program",
                            hint="wait for its sweep to end")

    def _being_written(self, burst_id: str, path: Path) -> bool:
        """Whether a sweep of this server or another program is writing the burst at ``path``."""
        return burst_id in self.writing or being_written(path)


def _source_range(indices: list[int], frames: tuple[int, int] | None) -> range:
    """The frame source's positions for burst frames first..last (corrupt frames are not in the source)."""
    return range(len(indices)) if frames is None else frame_positions(indices, *frames)


def _progress_checking(job: Job) -> Progress:
    """A progress callback for burst exports that also stops the export when the job is cancelled."""
    def progress(done: int, total: int, *, phase: str = "") -> None:
        job.check()
        job.report(done, total, phase=phase)
    return progress


def _stamp(path: Path) -> Stamp:
    """What changes when a burst file changes (derived data appended, frames added, another file renamed over it)."""
    stat = path.stat()
    return stat.st_ino, stat.st_dev, stat.st_size, stat.st_mtime_ns
