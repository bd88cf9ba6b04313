"""Merging a short extra sweep into a burst, in focus order, by replacing the burst file atomically.

A burst is append-only and its frames are numbered in capture order, which every reader takes as
focus order; frames shot later to extend the range or fill a gap belong between or before the old
ones. So the merge writes a new burst beside the old one (a hidden ``.NAME.merging``) with every frame
of both, sorted by focus position, closes and fsyncs it, and renames it over the old one. Until the
rename the old burst is untouched; the rename is atomic, so after ``kill -9`` or a power cut there is
either the old burst or the merged one, every frame readable in both. A half-written ``.merging``
file is never listed (the gallery lists ``*.burst``) and the next merge of that burst removes it.

Derived data (focus index, sharpness, depth) described the old frames: none is carried over, so a
refocus or stack computes it again from the merged frames; ``derived`` adds what the caller already
computed for them.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from tether.burst.appender import fsync_dir
from tether.burst.errors import BurstBusy, BurstError
from tether.burst.locking import open_locked
from tether.burst.reader import BurstReader, open_burst
from tether.burst.writer import BurstWriter


def merging_path(path: Path) -> Path:
    """Where the merged burst is written before it replaces ``path``."""
    return path.with_name(f".{path.name}.merging")


def focus_order(base: BurstReader, extra: BurstReader) -> list[tuple[BurstReader, int]]:
    """Every frame of both bursts as (reader, position), nearest focus first; at equal positions the
    base burst's frame comes first, and each burst keeps its own order (a stable sort)."""
    frames = [(reader, i) for reader in (base, extra) for i in range(reader.frame_count)]
    return sorted(frames, key=lambda frame: frame[0].meta(frame[1]).focus_position)


def merge_into(path: Path | str, extra_path: Path | str, *, summary: Mapping[str, Any],
               derived: Mapping[str, bytes] | None = None) -> int:
    """Replace the closed burst at ``path`` by one holding its frames and those of ``extra_path`` in focus
    order, with ``summary`` as its manifest's summary; returns the frame count. BurstBusy while a writer
    (or another merge) holds ``path``."""
    path, extra_path = Path(path), Path(extra_path)
    target = merging_path(path)
    # the writer's and store_derived's lock: nothing may add to the old file meanwhile
    lock = open_locked(path, os.O_RDONLY, busy=BurstBusy(f"{path}: the burst is being written or changed",
                                                         hint="wait for the sweep or the change to finish"))
    try:
        target.unlink(missing_ok=True)  # a merge that was killed before its rename
        with open_burst(path) as base, open_burst(extra_path) as extra:
            if base.recovered or extra.recovered:
                raise BurstError(f"{path}: a burst to merge was never closed properly",
                                 hint="run 'tether burst repair' first")
            sweep = dict(base.manifest.get("sweep") or {})
            sweep["merged"] = [*sweep.get("merged", []), extra.manifest.get("sweep") or {}]
            writer = BurstWriter.create(target, camera=dict(base.manifest.get("camera") or {}), sweep=sweep,
                                        fsync=False)  # one fsync at close, before the rename, is enough
            try:
                for reader, i in focus_order(base, extra):
                    meta = reader.meta(i)
                    writer.append(reader.frame_bytes(i), replace(meta, index=-1, sha256=""))
                for name, data in (derived or {}).items():
                    writer.add_derived(name, data)
                writer.close(dict(summary))
            except BaseException:
                writer.close(status="interrupted", error="the merge failed")
                target.unlink(missing_ok=True)
                raise
            count = writer.frame_count
        os.replace(target, path)
        fsync_dir(path)
        return count
    finally:
        os.close(lock)
