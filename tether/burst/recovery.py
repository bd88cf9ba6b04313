"""``tether burst repair``: rebuild a valid burst beside a crashed or damaged one, never in place."""
from __future__ import annotations

import fcntl
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from tether.burst.errors import BurstBusy, BurstError, CorruptBurst
from tether.burst.reader import open_burst
from tether.burst.writer import BurstWriter


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
    """Copy every intact frame, record and derived item of ``path`` into a new burst at ``out``."""
    path = Path(path)
    out = Path(out) if out else repaired_path(path)
    _refuse_if_being_written(path)
    with open_burst(path) as reader:
        problems = reader.verify()
        if not problems and not reader.recovered and not force:
            return RepairReport(path, None, reader.frame_count, notes=["the burst is intact; nothing to repair"])
        if out.exists():
            raise BurstError(f"{out}: already exists; tether never overwrites a burst", hint="choose another --out")
        manifest = reader.manifest
        lost = [p for p in reader.problems if p.startswith(("frame ", "frames/", "meta/"))]
        report = RepairReport(path, out, 0, notes=[p for p in reader.problems if p not in lost])
        summary = dict(manifest.get("summary") or {}, repaired_from=path.name)
        with BurstWriter.create(out, camera=manifest.get("camera", {}), sweep=manifest.get("sweep", {})) as writer:
            for pos, meta in enumerate(reader.frames_meta()):
                try:
                    data = reader.frame_bytes(pos)
                except CorruptBurst as exc:
                    report.dropped.append(f"frame {meta.index}: {exc.message.removeprefix(f'{path}: ')}")
                    continue
                if meta.sha256 and hashlib.sha256(data).hexdigest() != meta.sha256:
                    report.dropped.append(f"frame {meta.index}: SHA-256 does not match its metadata")
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
            writer.close(summary, status="repaired")
    return report


def _refuse_if_being_written(path: Path) -> None:
    """A running sweep holds an exclusive lock; repairing under it would copy a moving target."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise BurstError(f"{path}: no such file") from None
    except OSError as exc:
        raise BurstError(f"{path}: cannot open ({exc.strerror})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        raise BurstBusy(f"{path}: the burst is still being written by a running sweep") from None
    except OSError:
        pass
    finally:
        os.close(fd)
