"""``tether burst repair``: rebuild a valid burst beside a crashed or damaged one, never in place."""
from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from tether.burst.appender import fsync_dir
from tether.burst.errors import BurstBusy, BurstError, CorruptBurst
from tether.burst.locking import being_written
from tether.burst.reader import BurstReader, open_burst
from tether.burst.writer import BurstWriter
from tether.errors import TetherError
from tether.fileio import StorageError, remedy, storage_error
from tether.numbering import frame_number


@dataclass
class RepairReport:
    """What a repair did: where the new burst is (None when nothing needed repair), what it kept and dropped."""

    source: Path
    output: Path | None
    kept: int
    dropped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def repaired_path(path: Path) -> Path:
    """``sweep.zip`` -> ``sweep-repaired.zip`` beside it; a ``.burst`` stays a ``.burst`` (the gallery lists those)."""
    suffix = path.suffix if path.suffix.lower() in (".zip", ".burst") else ""
    stem = path.name[: -len(suffix)] if suffix else path.name
    return path.with_name(f"{stem}-repaired{suffix or '.zip'}")


def repair(path: Path | str, out: Path | str | None = None, *, force: bool = False) -> RepairReport:
    """Copy every intact frame, record and derived item of ``path`` into a new burst at ``out``.

    The copy is written under a temporary name beside ``out`` and renamed only once it is closed and
    on disk, so ``out`` is either a complete repair or absent: a copy cut short (a full disk) would
    itself verify as a good, shorter burst, and a user who trusted it could delete the original."""
    path = Path(path)
    out = Path(out) if out else repaired_path(path)
    _refuse_if_being_written(path)
    with open_burst(path) as reader:
        problems = reader.verify()
        if not problems and not reader.recovered and not force:
            return RepairReport(path, None, reader.frame_count, notes=["the burst is intact; nothing to repair"])
        _refuse_existing(out)
        temp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.part")
        try:
            report = _copy(reader, path, temp, out)
            _refuse_existing(out)
            try:
                os.rename(temp, out)
            except OSError as exc:
                raise storage_error(exc, temp) from None
        except BaseException as exc:
            with contextlib.suppress(OSError):  # (in a folder that cannot be written, even this fails)
                temp.unlink(missing_ok=True)
            if isinstance(exc, StorageError):
                raise exc.reworded(f"{out}: not written: {exc.message.removeprefix(f'{temp}: ')}",
                                   hint=f"{remedy(exc)} and run repair again; {path} is unchanged") from None
            raise
    fsync_dir(out)
    return report


def _refuse_existing(out: Path) -> None:
    if out.exists():
        raise BurstError(f"{out}: already exists; tether never overwrites a burst", hint="choose another --out")


def _copy(reader: BurstReader, path: Path, temp: Path, out: Path) -> RepairReport:
    """Write what is intact in ``reader`` (the burst at ``path``) to a closed burst at ``temp``."""
    manifest = reader.manifest
    lost = [p for p in reader.problems if p.startswith(("frame ", "frames/", "meta/"))]
    report = RepairReport(path, out, 0, notes=[p for p in reader.problems if p not in lost])
    summary = dict(manifest.get("summary") or {}, repaired_from=path.name)
    writer = BurstWriter.create(temp, camera=manifest.get("camera", {}), sweep=manifest.get("sweep", {}))
    try:
        for pos, meta in enumerate(reader.frames_meta()):
            try:
                data = reader.frame_bytes(pos)
            except CorruptBurst as exc:
                report.dropped.append(f"frame {frame_number(meta.index)}: {exc.message.removeprefix(f'{path}: ')}")
                continue
            if meta.sha256 and hashlib.sha256(data).hexdigest() != meta.sha256:
                report.dropped.append(f"frame {frame_number(meta.index)}: SHA-256 does not match its metadata")
                continue
            writer.append(data, meta, keep_index=True)
            report.kept += 1
        for name in reader.derived_names():
            try:
                writer.add_derived(name, reader.derived(name))
            except CorruptBurst as exc:
                report.dropped.append(f"derived {name!r}: {exc.message.removeprefix(f'{path}: ')}")
        report.dropped += lost
        summary["dropped"] = report.dropped
    except BaseException:
        # the copy is deleted, not closed as "interrupted": a closed short copy is what must never exist
        with contextlib.suppress(TetherError):
            writer.close(status="interrupted")
        raise
    writer.close(summary, status="repaired")  # writes the directory and fsyncs the file
    return report


def _refuse_if_being_written(path: Path) -> None:
    """A running sweep holds an exclusive lock; repairing under it would copy a moving target."""
    if not path.exists():
        raise BurstError(f"{path}: no such file")
    if being_written(path):
        raise BurstBusy(f"{path}: the burst is still being written by a running sweep")
