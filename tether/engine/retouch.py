"""Retouching a burst's stack: strokes painted, undone and redone, kept in the burst and replayed at full size.

The layer (:mod:`tether.engine.retouch_layer`) is made by the panel's stack job. Every stroke, undo
and redo rewrites the layer in the burst before it answers, so a reload or a server restart finds it
as it was; the pixels are never stored: the picture on screen is the base with the strokes replayed
(:func:`tether.imaging.retouch.replay`), kept in memory per burst and painted one stroke at a time,
and the export replays them all, at full size, in a job.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tether.burst import BurstReader, open_burst
from tether.checks import checked, number
from tether.engine.burst_cache import BurstCache
from tether.engine.burst_frames import BurstFrames
from tether.engine.bursts import BurstService, LoadedIndex
from tether.engine.retouch_layer import (
    Geometry,
    base_name,
    decode_png,
    earlier_layers,
    editing,
    keep_focus_maps,
    read_focus_maps,
    read_geometry,
    read_layer,
    restore,
    slab_name,
    store_layer,
    stored_layer,
)
from tether.errors import InvalidInput, NotFound, NotReady
from tether.imaging import FORMATS, ImagingError, write_image
from tether.imaging.retouch import (
    BRUSHES,
    FocusMaps,
    Source,
    Stroke,
    aligned_region,
    check_source,
    focus_region,
    halo_frame,
    paint,
    point_list,
    replay,
    simplify_path,
    stroke_box,
)
from tether.imaging.transforms import Box
from tether.jobs import Job

#: Retouched pictures kept in memory (full size: 6 MB a 1080p burst).
IMAGE_CACHE = 2


class _Sources:
    """Reads the pixels a stroke copies from an open burst: frames aligned and colour-matched, slabs, or each
    place's sharpest frames."""

    def __init__(self, reader: BurstReader, layer: dict[str, Any], shape: tuple[int, int],
                 maps: FocusMaps | None = None) -> None:
        """``maps``: the layer's focus maps when already read (or stored after ``reader`` was opened)."""
        self.reader, self.layer, self.shape = reader, layer, shape
        self._maps = maps
        self._frames: BurstFrames | None = None
        self._geometry: Geometry | None = None
        #: The last frame decoded: strokes in a row mostly copy the same frame, and a replay decodes it once.
        self._last: tuple[int, np.ndarray] | None = None

    def __call__(self, source: Source, box: Box) -> np.ndarray:
        r0, r1, c0, c1 = box
        if source.kind == "slab":
            slab = self.reader.derived(slab_name(self.layer, source.number))
            return decode_png(slab, f"slab {source.number}")[r0:r1, c0:c1]
        if source.kind == "focus":
            self._maps = self._maps or read_focus_maps(self.reader, self.layer)
            if self._maps is None:
                raise ImagingError("the stack's focus maps are not in the burst: stack it again to replay its strokes")
            return focus_region(self._maps, box, self._position)
        return self._position(self._geometry_of().position(source.number), box)

    def _geometry_of(self) -> Geometry:
        if self._geometry is None:
            self._geometry, self._frames = read_geometry(self.reader, self.layer), BurstFrames(self.reader)
        return self._geometry

    def _position(self, k: int, box: Box) -> np.ndarray:
        """``box`` of the stack's frame ``k`` (its position in the stack), as the stack took it."""
        geometry = self._geometry_of()
        assert self._frames is not None
        if self._last is None or self._last[0] != k:
            self._last = None  # (before the next frame is decoded)
            self._last = (k, self._frames.read(self._frames.indices.index(geometry.frames[k])))
        return aligned_region(self._last[1], geometry.transforms[k], geometry.gains[k], box, self.shape)


class RetouchService:
    """Strokes, undo and redo over the retouch layers of a BurstService's bursts, and their export."""

    def __init__(self, bursts: BurstService) -> None:
        self.bursts = bursts
        #: burst id -> ((stack, revision), the retouched picture)
        self._images: BurstCache[tuple[tuple[str, int], np.ndarray]] = BurstCache(IMAGE_CACHE)

    def kept(self, burst_id: str) -> dict[str, Any] | None:
        """The layer (the stack it is painted on, its slabs, the strokes, how many can be redone, and the earlier
        stacks kept with their strokes), or None while the burst has no stack (every unstacked burst the Stack
        page opens: nothing to retouch yet is not an error); NotFound for no such burst."""
        with open_burst(self.bursts.store.burst_path(burst_id)) as reader:
            layer = stored_layer(reader, burst_id)
            return None if layer is None else self._public(reader, burst_id, layer)

    def restore(self, burst_id: str, stack: str) -> dict[str, Any]:
        """Paint on the earlier stack ``stack`` again, with its strokes; the one painted now becomes an earlier one."""
        path = self.bursts.store.burst_path(burst_id)
        self.bursts.check_not_writing(burst_id)
        layer = restore(path, burst_id, stack)  # (under the burst's lock)
        self._published(burst_id, layer)
        with open_burst(path) as reader:
            return self._public(reader, burst_id, layer)

    # painting -------------------------------------------------------------------------------
    def add(self, burst_id: str, request: dict[str, Any]) -> dict[str, Any]:
        """Paint one stroke from a request (points and radius in fractions of the picture's width and height)."""
        path = self.bursts.store.burst_path(burst_id)
        with editing(path), open_burst(path) as reader:
            layer = read_layer(reader, burst_id)
            width, height = layer["size"]
            stroke, maps = self._stroke(burst_id, reader, request, layer, (height, width))
            image = self._image(burst_id, reader, layer).copy()
            box = stroke_box(stroke, (height, width))
            if box[1] > box[0] and box[3] > box[2]:
                paint(image, stroke, _Sources(reader, layer, (height, width), maps)(stroke.source, box), box)
            layer["strokes"].append(stroke.to_dict())
            layer["undone"] = []
            return self._changed(burst_id, path, reader, layer, image)

    def undo(self, burst_id: str) -> dict[str, Any]:
        return self._move(burst_id, "strokes", "undone")

    def redo(self, burst_id: str) -> dict[str, Any]:
        return self._move(burst_id, "undone", "strokes")

    def _move(self, burst_id: str, take: str, put: str) -> dict[str, Any]:
        """Undo (the last stroke to the undone) or redo (the last undone back), and replay."""
        path = self.bursts.store.burst_path(burst_id)
        with editing(path), open_burst(path) as reader:
            layer = read_layer(reader, burst_id)
            if not layer[take]:
                raise InvalidInput("there is no stroke to " + ("undo" if take == "strokes" else "redo"))
            layer[put].append(layer[take].pop())
            image = _replayed(reader, layer)
            return self._changed(burst_id, path, reader, layer, image)

    def _changed(self, burst_id: str, path: Path, reader: BurstReader, layer: dict[str, Any],
                 image: np.ndarray) -> dict[str, Any]:
        """Store the changed layer and answer it; ``reader`` (opened before the change) still lists the earlier
        layers, which strokes, undo and redo leave as they are."""
        layer["revision"] += 1
        store_layer(path, layer)
        self._remember(burst_id, layer, image)
        self._published(burst_id, layer)
        return self._public(reader, burst_id, layer)

    def _published(self, burst_id: str, layer: dict[str, Any]) -> None:
        self.bursts.bus.publish("retouch.changed", burst=burst_id, stack=layer["stack"], revision=layer["revision"],
                                strokes=len(layer["strokes"]), undone=len(layer["undone"]))

    @staticmethod
    def _public(reader: BurstReader, burst_id: str, layer: dict[str, Any]) -> dict[str, Any]:
        earlier = [{"stack": e["stack"], "about": e["about"], "strokes": len(e["strokes"]), "undone": len(e["undone"])}
                   for e in earlier_layers(reader, burst_id)]
        return {"stack": layer["stack"], "about": layer["about"], "slabs": layer["slabs"], "size": layer["size"],
                "revision": layer["revision"], "strokes": layer["strokes"], "undone": len(layer["undone"]),
                "earlier": earlier}

    def _stroke(self, burst_id: str, reader: BurstReader, request: dict[str, Any], layer: dict[str, Any],
                shape: tuple[int, int]) -> tuple[Stroke, FocusMaps | None]:
        """The stroke a request paints, and the layer's focus maps when it follows them (None: it does not)."""
        given = checked(request, {"points": point_list(0.0, 1.0), "radius": number(0.0005, 1.0),
                                  "hardness": number(0.0, 1.0), "opacity": number(0.0, 1.0), "brush": BRUSHES.check,
                                  "source": check_source}, "stroke", required=("points", "radius"))
        h, w = shape
        points = [list(p) for p in simplify_path([(x * w, y * h) for x, y in given["points"]])]
        brush = given.get("brush", BRUSHES.default)
        radius = given["radius"] * w
        maps = None
        if brush == "chosen":
            if "source" not in given or given["source"].kind == "focus":
                raise InvalidInput("a stroke of a chosen frame or slab needs its 'source': a frame or a slab")
            source = given["source"].to_dict()
        elif brush == "sharpest":
            maps = read_focus_maps(reader, layer)
            if maps is None:  # a layer kept before stacks kept their maps
                loaded = self._loaded(burst_id)
                if list(loaded.frames) != read_geometry(reader, layer).frames:  # (its frames are the stack's)
                    raise InvalidInput("the burst's frames are not those this stack was made of: stack it again")
                maps = FocusMaps.of(loaded.index)
                keep_focus_maps(self.bursts.store.burst_path(burst_id), layer, maps)
            source = {"kind": "focus"}
        else:
            loaded = self._loaded(burst_id)
            k = halo_frame(loaded.index, (points[0][0], points[0][1]))
            source = {"kind": "frame", "number": loaded.burst_frame(k)}
        stroke = Stroke.from_dict({"points": points, "radius": max(0.5, radius), "source": source, "brush": brush,
                                   **{key: given[key] for key in ("hardness", "opacity") if key in given}})
        if stroke.source.kind == "slab" and stroke.source.number >= len(layer["slabs"]):
            raise NotFound(f"this stack has no slab {stroke.source.number + 1}"
                           + (f" (it has {len(layer['slabs'])})" if layer["slabs"] else " (it was not slabbed)"))
        if stroke.source.kind == "frame":
            read_geometry(reader, layer).position(stroke.source.number)  # (NotFound when the stack had no such frame)
        return stroke, maps

    def _loaded(self, burst_id: str) -> LoadedIndex:
        """The burst's focus index, for a brush that reads it; NotReady while it is computed."""
        loaded = self.bursts.loaded_index(burst_id)
        if loaded is None:  # (after a restart, of a burst whose index was never stored)
            self.bursts.prepare_refocus(burst_id)
            raise NotReady(f"the focus index of burst {burst_id} is being computed",
                           hint="paint again when its job is done, or choose a frame on the scrubber")
        return loaded

    # pictures -------------------------------------------------------------------------------
    def image(self, burst_id: str) -> np.ndarray:
        """The retouched stack as the panel shows it (full size; not to be changed)."""
        path = self.bursts.store.burst_path(burst_id)
        with editing(path), open_burst(path) as reader:
            return self._image(burst_id, reader, read_layer(reader, burst_id))

    def _image(self, burst_id: str, reader: BurstReader, layer: dict[str, Any]) -> np.ndarray:
        key = (layer["stack"], layer["revision"])
        cached = self._images.get(burst_id, lambda kept: kept[0] == key)
        if cached is not None:
            return cached[1]
        image = _replayed(reader, layer)
        self._remember(burst_id, layer, image)
        return image

    def _remember(self, burst_id: str, layer: dict[str, Any], image: np.ndarray) -> None:
        self._images.put(burst_id, ((layer["stack"], layer["revision"]), image))

    def start_export(self, burst_id: str, fmt: str) -> Job:
        """Replay every stroke over the stack at full size, from the burst, into exports/ as ``fmt``."""
        path = self.bursts.store.burst_path(burst_id)
        self.bursts.check_not_writing(burst_id)
        output = FORMATS.pick(fmt)

        def work(job: Job) -> dict[str, Any]:
            def progress(done: int, total: int) -> None:
                job.check()
                job.report(done, total)

            with open_burst(path) as reader:
                layer = read_layer(reader, burst_id)
                image = _replayed(reader, layer, progress=progress)
                note = (f"tether focus stack of burst {burst_id} ({layer['about'].get('method', '')}), retouched "
                        f"with {len(layer['strokes'])} strokes from its frames")
                export_id, out = self.bursts.store.new_export_path(output.suffix, f"{burst_id}-retouched")
                write_image(out, image, exif_from=BurstFrames(reader).exif_source(), note=note)
            return {**self.bursts.exported(export_id, out), "strokes": len(layer["strokes"])}

        return self.bursts.pool.submit("export", work, label="Export the retouched stack", subject=burst_id)


def _replayed(reader: BurstReader, layer: dict[str, Any],
              progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """The layer's base with its strokes replayed, read from the burst."""
    base = decode_png(reader.derived(base_name(layer)), "the retouch base")
    strokes = [Stroke.from_dict(s) for s in layer["strokes"]]
    read = _Sources(reader, layer, (base.shape[0], base.shape[1]))
    if progress is None:
        return replay(base, strokes, read)
    done = [0]

    def counted(source: Source, box: Box) -> np.ndarray:
        region = read(source, box)
        done[0] += 1
        progress(done[0], len(strokes))
        return region

    return replay(base, strokes, counted)

