"""Where bursts and exports live: ``<data_dir>/bursts/`` and ``<data_dir>/exports/``, addressed by id.

The id of a burst is its file name without the suffix; the id of an export is its file name
without the suffix. Ids are checked against a strict pattern before they touch the file
system, so a request can never name a path.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether.engine.ids import UnknownId, check_id, is_valid_id, new_id
from tether.fileio import StorageError, describe_os_error

log = logging.getLogger(__name__)

BURST_SUFFIX = ".burst"


@dataclass(frozen=True)
class ExportFile:
    id: str
    path: Path

    def to_dict(self) -> dict[str, Any]:
        stat = self.path.stat()
        return {"id": self.id, "name": self.path.name, "size": stat.st_size, "modified": stat.st_mtime}


class BurstStore:
    """The bursts and exports folders of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir).expanduser().resolve()
        self.bursts_dir = self.root / "bursts"
        self.exports_dir = self.root / "exports"
        self._lock = threading.Lock()
        for folder in (self.bursts_dir, self.exports_dir):
            _make(folder)

    # bursts -------------------------------------------------------------------------------
    def new_burst_path(self) -> tuple[str, Path]:
        """A fresh (id, path) for a burst about to be written; the file does not exist yet."""
        _make(self.bursts_dir)  # again: someone may have removed it while the server ran
        with self._lock:
            while True:
                burst_id = new_id()
                path = self.burst_file(burst_id)
                if not path.exists():
                    return burst_id, path

    def burst_file(self, burst_id: str) -> Path:
        """Where burst ``burst_id`` is (or will be) written; the id is checked, the file need not exist."""
        return self.bursts_dir / f"{check_id(burst_id, 'burst')}{BURST_SUFFIX}"

    def burst_ids(self) -> list[str]:
        """Ids of every burst in the folder, newest first."""
        found = []
        for path in self.bursts_dir.glob(f"*{BURST_SUFFIX}"):
            stem = path.name[: -len(BURST_SUFFIX)]
            if is_valid_id(stem) and path.is_file():
                found.append((path.stat().st_mtime, stem))
        return [stem for _, stem in sorted(found, reverse=True)]

    def burst_path(self, burst_id: str) -> Path:
        """The file of burst ``burst_id``; UnknownId if there is none."""
        path = self.burst_file(burst_id)
        if not path.is_file():
            raise UnknownId(f"no burst {burst_id!r}", hint="the gallery lists the bursts there are")
        return path

    def delete_burst(self, burst_id: str) -> None:
        path = self.burst_path(burst_id)
        try:
            path.unlink()
        except OSError as exc:
            raise StorageError(describe_os_error(exc, path)) from None

    # exports ------------------------------------------------------------------------------
    def new_export_path(self, suffix: str, stem_hint: str = "", *, exact: bool = False) -> tuple[str, Path]:
        """A fresh (id, path) in the exports folder; ``suffix`` like '.jpg' or '' for a folder. With
        ``exact`` the id is the hint itself while no export has it (a camera's file name, so that the
        download is called what the camera called it), else the hint plus a new id."""
        _make(self.exports_dir)
        with self._lock:
            if exact and is_valid_id(stem_hint) and self.find_export(stem_hint) is None:
                return stem_hint, self.exports_dir / f"{stem_hint}{suffix}"
            while True:
                export_id = f"{stem_hint}-{new_id()}" if stem_hint and is_valid_id(stem_hint) else new_id()
                path = self.exports_dir / f"{export_id}{suffix}"
                if not path.exists():
                    return export_id, path

    def export(self, export_id: str) -> ExportFile:
        """The export file named by ``export_id``; UnknownId if there is none."""
        found = self.find_export(check_id(export_id, "export"))
        if found is None:
            raise UnknownId(f"no export {export_id!r}")
        return found

    def find_export(self, export_id: str) -> ExportFile | None:
        """The export file named by ``export_id`` (a checked id), or None."""
        for path in self.exports_dir.glob(f"{export_id}.*"):
            if path.is_file() and path.name[: len(export_id) + 1] == f"{export_id}.":
                return ExportFile(export_id, path)
        return None

    def exports(self) -> list[ExportFile]:
        found = []
        for path in self.exports_dir.iterdir():
            stem, dot, _ = path.name.partition(".")
            if dot and path.is_file() and is_valid_id(stem):
                found.append(ExportFile(stem, path))
        return sorted(found, key=lambda e: e.path.stat().st_mtime, reverse=True)


def _make(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(describe_os_error(exc, folder)) from None
