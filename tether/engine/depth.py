"""The Depth page's work: previews at screen size, its settings kept in the burst, full-size exports, and
living pictures.

A burst's preview is made once (:class:`DepthPreview`: every frame at screen size in the reference
geometry, and the depth map at that size) and kept for the few bursts open last; after that a change
of the focus point, the aperture or an adjustment re-renders with two lookups per pixel and a few
filters (``benchmarks/depth.py`` times it). The settings are derived data of the burst
(:data:`DEPTH_EDIT_NAME`), like the focus index: they survive a restart and travel with the file.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tether.burst import open_burst, store_derived
from tether.engine.browser_jpeg import browser_jpeg
from tether.engine.burst_cache import BurstCache
from tether.engine.burst_frames import BurstFrames
from tether.engine.bursts import BurstService, LoadedIndex
from tether.engine.heap import limit_heap_growth, release_free_heap
from tether.engine.living import MAX_BYTES, Progress, build_living, plan_living
from tether.errors import InvalidInput
from tether.fileio import write_atomic
from tether.imaging import FORMATS, FocusIndex, render_aperture, stack_frames, write_image
from tether.imaging.depth_edit import (
    DepthEdit,
    adjust,
    edit_selection,
    edit_weight,
    finish,
    render_index_map,
    tint,
    weight_of,
)
from tether.imaging.display import blend_at_index, display_frame, display_size, packed
from tether.jobs import Job

Cancel = Callable[[], bool]

#: Name of the Depth page's settings in a burst's derived data, and the version of their form.
DEPTH_EDIT_NAME = "depth-edit.json"
SETTINGS_VERSION = 1
#: The preview's long side: a laptop's picture area; a phone shows it scaled down.
PREVIEW_LONG_SIDE = 960
#: Bursts whose preview frames are kept (60 frames at 960 x 540 are 124 MB).
PREVIEW_CACHE = 1
#: The f-number assumed when a burst does not record the one it was shot at (live view carries no EXIF).
ASSUMED_F_NUMBER = 2.8
#: What a full-size export may be written as: the camera's 8 bits, or 16 bits for further editing.


@dataclass(frozen=True)
class DepthPreview:
    """What a burst's previews are rendered from: ``frames`` (N, h, w, 4) uint8 (:func:`packed`), ``depth`` (h, w)
    float32 in frames."""

    frames: np.ndarray
    depth: np.ndarray
    loaded: LoadedIndex
    captured_f_number: float | None


class DepthService:
    """Depth page previews, settings and exports over the bursts' focus indexes."""

    def __init__(self, bursts: BurstService) -> None:
        self.bursts = bursts
        self._previews: BurstCache[DepthPreview] = BurstCache(PREVIEW_CACHE)
        bursts.bus.subscribe(self._forget)

    def _forget(self, event: dict[str, Any]) -> None:
        """A deleted burst's preview frames (up to a hundred MB) go with it, not when another burst is opened."""
        if event["type"] == "burst.deleted":
            self._previews.drop(event["burst"])

    # preview ------------------------------------------------------------------------------
    def _preview(self, burst_id: str) -> DepthPreview:
        loaded = self.bursts.ready_index(burst_id)  # NotReady until the refocus map exists
        with self._previews.hold(burst_id):  # one burst's frames are read once, however many requests ask at once
            cached = self._previews.get(burst_id, lambda kept: kept.loaded is loaded)
            if cached is not None:
                return cached
            self._previews.drop(burst_id)  # (its frames, before the new ones are read)
            with open_burst(self.bursts.store.burst_path(burst_id)) as reader:
                source = BurstFrames(reader)
                size = display_size(source.shape, PREVIEW_LONG_SIDE)
                frames = np.stack([packed(display_frame(source, loaded.index, i, size)) for i in range(len(source))])
                shot = source.f_number()
            preview = DepthPreview(frames, loaded.index.depth(size=size), loaded, shot)
            self._previews.put(burst_id, preview)
            return preview

    def info(self, burst_id: str) -> dict[str, Any]:
        """What the page needs to draw its controls: the stored settings, the frames and the aperture shot at."""
        preview = self._preview(burst_id)
        frames, h, w = preview.frames.shape[:3]
        return {"settings": self.settings(burst_id).to_dict(), "frames": frames, "width": w, "height": h,
                "captured_f_number": preview.captured_f_number, "assumed_f_number": ASSUMED_F_NUMBER,
                "numbers": list(preview.loaded.frames)}

    def render_preview(self, burst_id: str, edit: DepthEdit, *, show_selection: bool = False) -> np.ndarray:
        """(h, w, 3) uint8 preview of ``edit`` at screen size (with ``show_selection``, its depth range tinted)."""
        preview = self._preview(burst_id)
        index = preview.loaded.index
        focus = None if edit.focus is None else _focus_frame(index, edit.focus)
        index_map = render_index_map(preview.depth, edit, focus_frame=focus,
                                     captured_f_number=self._shot(edit, preview.captured_f_number),
                                     frame_count=index.frame_count)
        image = blend_at_index(preview.frames, index_map)
        # one selection for the adjustments and the tint: it runs on every preview while a slider moves
        tile = index.tile * image.shape[1] / index.shape[1]
        selection = edit_selection(preview.depth, edit, guide=image, tile=tile) if show_selection or edit.adjusts \
            else None
        weight = weight_of(selection, edit)
        out = image if weight is None else adjust(image, weight, edit)
        if show_selection and selection is not None:  # what the adjustments act on, as they take it
            out = tint(out, selection)
        return out if out.dtype == np.uint8 else finish(out, np.uint8)

    def preview_jpeg(self, burst_id: str, edit: DepthEdit, *, show_selection: bool = False) -> bytes:
        return browser_jpeg(self.render_preview(burst_id, edit, show_selection=show_selection), "the preview")

    @staticmethod
    def _shot(edit: DepthEdit, recorded: float | None) -> float:
        return edit.captured_f_number or recorded or ASSUMED_F_NUMBER

    # settings -----------------------------------------------------------------------------
    def settings(self, burst_id: str) -> DepthEdit:
        """The settings stored in the burst (the defaults if none are)."""
        with open_burst(self.bursts.store.burst_path(burst_id)) as reader:
            if DEPTH_EDIT_NAME not in reader.derived_names():
                return DepthEdit()
            stored = reader.derived(DEPTH_EDIT_NAME)
        try:
            data = json.loads(stored)
            if not isinstance(data, dict) or data.pop("version", None) != SETTINGS_VERSION:
                return DepthEdit()
            return DepthEdit.from_dict(data)
        except (ValueError, InvalidInput):  # written by another version: start afresh rather than fail the page
            return DepthEdit()

    def save(self, burst_id: str, edit: DepthEdit) -> None:
        self.bursts.check_not_writing(burst_id)
        stored = {"version": SETTINGS_VERSION, **edit.to_dict()}
        store_derived(self.bursts.store.burst_path(burst_id), DEPTH_EDIT_NAME,
                      json.dumps(stored, separators=(",", ":")).encode("utf-8"))

    # exports ------------------------------------------------------------------------------
    def start_export(self, burst_id: str, edit: DepthEdit, fmt: str) -> Job:
        """Render ``edit`` at full size into exports/ as ``fmt``, 16-bit where it can be (a pool job)."""
        output = FORMATS.pick(fmt)
        loaded = self.bursts.ready_index(burst_id)
        path = self.bursts.store.burst_path(burst_id)
        self.bursts.check_not_writing(burst_id)

        def work(job: Job) -> dict[str, Any]:
            limit_heap_growth()
            with open_burst(path) as reader:
                source = BurstFrames(reader)
                image = finish(render_full(source, loaded, edit, lambda d, t: job.report(d, t, phase="rendering"),
                                           lambda: job.cancelled), np.uint16 if 16 in output.depths else np.uint8)
                release_free_heap()
                export_id, out = self.bursts.store.new_export_path(output.suffix, f"{burst_id}-depth")
                write_image(out, image, exif_from=source.exif_source(), note=f"tether depth edit of burst {burst_id}")
            return self.bursts.exported(export_id, out)

        return self.bursts.pool.submit("export", work, label=f"Depth export ({output.label})", subject=burst_id)

    def living_plan(self, burst_id: str) -> dict[str, Any]:
        """The living picture's size estimate (before it is made)."""
        loaded = self.bursts.ready_index(burst_id)
        with open_burst(self.bursts.store.burst_path(burst_id)) as reader:
            return plan_living(BurstFrames(reader), loaded.index).to_dict()

    def start_living(self, burst_id: str) -> Job:
        """Write the burst's living picture (one HTML file) into exports/ (a pool job)."""
        loaded = self.bursts.ready_index(burst_id)
        path = self.bursts.store.burst_path(burst_id)
        self.bursts.check_not_writing(burst_id)

        def work(job: Job) -> dict[str, Any]:
            data = living_picture(path, loaded, title=burst_id,
                                  progress=lambda d, t: job.report(d, t, phase="encoding"),
                                  cancel=lambda: job.cancelled)
            export_id, out = self.bursts.store.new_export_path(".html", f"{burst_id}-living")
            write_atomic(out, data)
            return {**self.bursts.exported(export_id, out), "max_bytes": MAX_BYTES}

        return self.bursts.pool.submit("export", work, label="Living picture", subject=burst_id)


def living_picture(path: Path, loaded: LoadedIndex, *, title: str, progress: Progress | None = None,
                   cancel: Cancel | None = None) -> bytes:
    """The living picture of the burst at ``path`` (its HTML bytes), sized by :func:`plan_living`."""
    with open_burst(path) as reader:
        source = BurstFrames(reader)
        plan = plan_living(source, loaded.index)
        return build_living(source, loaded.index, plan, numbers=list(loaded.frames), title=title,
                            progress=progress, cancel=cancel)


def render_full(source: BurstFrames, loaded: LoadedIndex, edit: DepthEdit, progress: Progress,
                cancel: Cancel) -> np.ndarray:
    """(H, W, 3) float32 in the 0..255 scale: ``edit`` at full size (its focus and aperture, then its adjustments)."""
    index = loaded.index
    if edit.focus is None:
        image = stack_frames(source, method="depthmap", index=index, progress=lambda d, t, _s: progress(d, t),
                             cancel=cancel, on_strip_done=release_free_heap).image
    else:
        shot = DepthService._shot(edit, source.f_number())
        image = render_aperture(source, index, focus=_focus_pixel(index, edit.focus),
                                f_number=edit.f_number or shot, captured_f_number=shot,
                                progress=lambda d, t, _s: progress(d, t), cancel=cancel,
                                on_strip_done=release_free_heap)
    scaled = image.astype(np.float32)
    if image.dtype == np.uint16:
        scaled /= 257.0
    del image  # the rest needs the float copy only (the frames' dtype is up to 6 bytes a pixel more)
    weight = edit_weight(index.depth(), edit, guide=scaled, tile=index.tile)
    return scaled if weight is None else adjust(scaled, weight, edit, in_place=True)


def _focus_pixel(index: FocusIndex, focus: tuple[float, float]) -> tuple[float, float]:
    """Reference pixel (x, y) of ``focus`` given as fractions of the picture (1.0 is the last pixel's far edge)."""
    h, w = index.shape
    return min(focus[0] * w, w - 1e-3), min(focus[1] * h, h - 1e-3)


def _focus_frame(index: FocusIndex, focus: tuple[float, float]) -> float:
    answer = index.refocus(*_focus_pixel(index, focus))
    if answer.frame is None:
        raise InvalidInput("the focus point is on a moving subject; choose something that stood still")
    return float(answer.frame)
