"""Adding data computed after the sweep (sharpness, refocus index map, depth map) to a closed burst.

Append-only: the new entry and a new manifest go after the old central directory, then a new
directory is written. No byte of a frame is ever rewritten, so a crash part-way leaves every frame
readable (the reader falls back to a scan, and ``tether burst repair`` rebuilds the directory).
A replaced item's old bytes stay in the file as dead space that no directory points at, until there is
more of it than of live data (:mod:`tether.burst.compact`).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from tether.burst.appender import Appender
from tether.burst.compact import compact_if_wasteful
from tether.burst.errors import BurstBusy, BurstError
from tether.burst.format import MANIFEST_ENTRY, derived_entry
from tether.burst.locking import open_locked
from tether.burst.reader import open_burst
from tether.errors import TetherError
from tether.fileio import StorageError


def keep_derived(path: Path | str, items: Mapping[str, bytes], *, what: str) -> str | None:
    """:func:`store_derived_items` for caches (``what`` names them for people): None when kept, else why not, as
    a warning. A read-only folder, a full disk or a burst never closed properly must not stop the sweep,
    refocus or stack that computed them, which goes on from memory; they are computed again when next asked for."""
    try:
        store_derived_items(path, items)
    except TetherError as exc:
        return f"{what} is not kept in the burst ({exc.message}); it is computed again next time"
    return None


def store_derived(path: Path | str, name: str, data: bytes) -> None:
    """Add (or replace) derived item ``name`` in the closed burst at ``path``, durably."""
    store_derived_items(path, {name: data})


def store_derived_items(path: Path | str, items: Mapping[str, bytes], *, drop: Iterable[str] = ()) -> None:
    """Add (or replace) several derived items in one append, with one new directory: the burst holds all
    of them or, after a crash or a full disk, none (items that belong together, like a stack and its layer).
    The items named in ``drop`` leave the directory in the same step (their bytes become dead space)."""
    path = Path(path)
    entries = {name: derived_entry(name) for name in items}  # validates the names before touching the file
    dropped = {name: derived_entry(name) for name in drop if name not in items}
    fd = open_locked(path, os.O_RDWR, busy=BurstBusy(
        f"{path}: the burst is still being written (or changed by another process)",
        hint="add derived data after the sweep has closed it"))
    try:
        with open_burst(path) as reader:
            if reader.recovered:
                raise BurstError(f"{path}: the burst was never closed properly", hint="run 'tether burst repair' first")
            manifest = dict(reader.manifest)
            replaced = {*entries.values(), *dropped.values(), MANIFEST_ENTRY}
            live = [e for e in reader.directory() if e.name not in replaced]
        now = time.time()
        derived = {name: info for name, info in (manifest.get("derived") or {}).items() if name not in dropped}
        for name, data in items.items():
            derived[name] = {"entry": entries[name], "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                             "added_at": now}
        manifest["derived"] = derived
        manifest_bytes = json.dumps(manifest, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        size = os.fstat(fd).st_size
        appender = Appender(fd, path, size, live, hint="the burst is unchanged")
        try:
            appender.add([*((entries[name], data, now) for name, data in items.items()),
                          (MANIFEST_ENTRY, manifest_bytes, now)])
            appender.finish()
        except StorageError:
            # nothing before `size` was touched: cutting back restores the burst exactly as it was
            try:
                os.ftruncate(fd, size)
                os.fsync(fd)
            except OSError:
                pass
            raise
        compact_if_wasteful(path, fd, appender.entries, appender.directory_offset)
    finally:
        os.close(fd)
