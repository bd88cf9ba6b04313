"""Where bursts, stills and exports live, addressed by id.

Bursts and stills of a session are in its folder, ``<data_dir>/sessions/<session>/`` (see sessions.py),
named from its template; those of the default session (the data from before sessions) in
``<data_dir>/bursts/`` and ``<data_dir>/exports/``. Stacks and other exports go to ``exports/``. The id
of a burst, still or export is its file name without the suffix, unique in the whole data dir. Ids are
checked against a strict pattern before they touch the file system, so a request can never name a path;
a link in the data dir to a file outside it is neither listed nor served (see BurstStore.serves).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether.engine.ids import UnknownId, check_id, is_valid_id, new_id
from tether.engine.sessions import DEFAULT, Sessions
from tether.fileio import storage_error

log = logging.getLogger(__name__)

BURST_SUFFIX = ".burst"
#: The suffix of a file the panel makes for itself in exports/ (a stack's JPEG when the stack is a TIFF the
#: browser cannot show): served by its id like an export, but not listed among what the user exported.
#: An export's suffix is a format's or a camera's (one dot), so no export the user made ends so.
PANEL_SUFFIX = ".panel.jpg"


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
        self.sessions = Sessions(self.root)
        self._lock = threading.Lock()
        #: Session bursts handed out whose file may not exist yet: id -> path.
        self._planned: dict[str, Path] = {}
        for folder in (self.bursts_dir, self.exports_dir):
            _make(folder)

    def serves(self, path: Path) -> bool:
        """Whether ``path`` is a file that may be listed and served: a link to a file outside the data dir is not
        (someone with a shell on the server could otherwise hand its files, or anyone's, to every browser).
        The data dir's own folders may be links (bursts/ moved to a larger disk): what is inside them counts."""
        if not path.is_file():
            return False
        resolved = path.resolve()
        folders = (self.bursts_dir, self.exports_dir, self.sessions.dir)
        return resolved.is_relative_to(self.root) or any(resolved.is_relative_to(f.resolve()) for f in folders)

    def holds(self, path: Path) -> bool:
        """Whether ``path`` is a burst or still of the gallery (not a file the CLI wrote elsewhere)."""
        return path.parent in self._capture_dirs()

    def _capture_dirs(self) -> list[Path]:
        """The folders bursts are in: the default session's, then every session's."""
        return [self.bursts_dir, *self.sessions.folders()]

    def _taken(self, name: str) -> bool:
        """Whether some burst, still or export of the data dir is called ``name`` already."""
        return (any(folder.joinpath(f"{name}{BURST_SUFFIX}").exists() for folder in self._capture_dirs())
                or self.find_export(name) is not None or self.find_still(name) is not None)

    def _next_name(self, camera: str) -> tuple[str, Path] | None:
        """(name, folder) for the next capture of the current session; None in the default session."""
        session = self.sessions.current()
        if session.id == DEFAULT:
            return None
        with self._lock:
            return self.sessions.reserve(session.id, camera=camera, taken=self._taken), \
                self.sessions.folder(session.id)

    def next_name(self, session_id: str, camera: str) -> str | None:
        """What session ``session_id`` will call its next capture (None: the default session, which
        keeps the camera's names for stills and gives sweeps new ids); nothing is reserved."""
        if session_id == DEFAULT:
            return None
        return self.sessions.next_name(session_id, camera=camera, taken=self._taken)

    # bursts -------------------------------------------------------------------------------
    def new_burst_path(self, camera: str = "") -> tuple[str, Path]:
        """A fresh (id, path) for a burst about to be written, in the current session and named from its
        template (``camera``: the model, for {camera}); the file does not exist yet."""
        named = self._next_name(camera)
        if named is not None:
            name, folder = named
            path = folder / f"{name}{BURST_SUFFIX}"
            with self._lock:  # the sweep creates the file later, in the camera's thread
                self._planned[name] = path
            return name, path
        _make(self.bursts_dir)  # again: someone may have removed it while the server ran
        with self._lock:
            while True:
                burst_id = new_id()
                path = self.bursts_dir / f"{burst_id}{BURST_SUFFIX}"
                if not path.exists():
                    return burst_id, path

    def burst_file(self, burst_id: str) -> Path:
        """Where burst ``burst_id`` is (or, in the default session, will be) written; the id is checked,
        the file need not exist."""
        name = f"{check_id(burst_id, 'burst')}{BURST_SUFFIX}"
        for folder in self.sessions.folders():
            if (folder / name).is_file():
                return folder / name
        with self._lock:
            return self._planned.get(burst_id, self.bursts_dir / name)

    def burst_ids(self, session: str | None = None) -> list[str]:
        """Ids of every burst (of ``session`` only, when given), newest first."""
        folders = self._capture_dirs() if session is None else [
            self.bursts_dir if session == DEFAULT else self.sessions.folder(session)]
        found = []
        for folder in folders:
            for path in folder.glob(f"*{BURST_SUFFIX}"):
                stem = path.name[: -len(BURST_SUFFIX)]
                if is_valid_id(stem) and self.serves(path):
                    found.append((path.stat().st_mtime, stem))
        return [stem for _, stem in sorted(found, reverse=True)]

    def burst_path(self, burst_id: str) -> Path:
        """The file of burst ``burst_id``; UnknownId if there is none."""
        path = self.burst_file(burst_id)
        if not self.serves(path):
            raise UnknownId(f"no burst {burst_id!r}", hint="the gallery lists the bursts there are")
        return path

    def delete_burst(self, burst_id: str) -> None:
        path = self.burst_path(burst_id)
        try:
            path.unlink()
        except OSError as exc:
            raise storage_error(exc, path) from None

    # stills -------------------------------------------------------------------------------
    def new_still_path(self, camera_name: str, camera: str = "") -> tuple[str, Path]:
        """A fresh (id, path) for a still the camera called ``camera_name`` (its suffix is kept): in the
        current session, named from its template; in the default session, in exports/ under the
        camera's name when no file has it yet."""
        suffix = Path(camera_name).suffix or ".jpg"
        if not suffix[1:].isalnum():
            suffix = ".bin"
        named = self._next_name(camera)
        if named is not None:
            name, folder = named
            return name, folder / f"{name}{suffix}"
        stem = Path(camera_name).stem
        exact = is_valid_id(stem)
        return self.new_export_path(suffix, stem if exact else "still", exact=exact)

    def find_still(self, still_id: str) -> ExportFile | None:
        """The still of a session named by ``still_id`` (a checked id), or None."""
        for folder in self.sessions.folders():
            found = self._find_file(folder, still_id)
            if found is not None and found.path.suffix != BURST_SUFFIX:
                return found
        return None

    def stills(self, session_id: str) -> list[ExportFile]:
        """The stills of a session, newest first (the default session's are among the exports)."""
        if session_id == DEFAULT:
            return []
        found = [ExportFile(p.name.partition(".")[0], p) for p in self.sessions.folder(session_id).iterdir()
                 if p.suffix != BURST_SUFFIX and is_valid_id(p.name.partition(".")[0]) and self.serves(p)]
        return sorted(found, key=lambda e: e.path.stat().st_mtime, reverse=True)

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
        """The export file or session still named by ``export_id``; UnknownId if there is none."""
        check_id(export_id, "export")
        found = self.find_export(export_id) or self.find_still(export_id)
        if found is None:
            raise UnknownId(f"no export {export_id!r}")
        return found

    def find_export(self, export_id: str) -> ExportFile | None:
        """The export file named by ``export_id`` (a checked id), or None."""
        return self._find_file(self.exports_dir, export_id)

    def exports(self) -> list[ExportFile]:
        """What the user exported (and stills of the default session), newest first."""
        found = []
        for path in self.exports_dir.iterdir():
            stem, dot, _ = path.name.partition(".")
            if dot and is_valid_id(stem) and not path.name.endswith(PANEL_SUFFIX) and self.serves(path):
                found.append(ExportFile(stem, path))
        return sorted(found, key=lambda e: e.path.stat().st_mtime, reverse=True)


    def delete_export(self, export_id: str) -> None:
        """Remove an export the user made: only a file of exports/ named by a checked id (never a session's
        still, never a file the panel made for itself); UnknownId for any other id."""
        found = self.find_export(check_id(export_id, "export"))
        if found is None or found.path.name.endswith(PANEL_SUFFIX):
            raise UnknownId(f"no export {export_id!r}", hint="the Exports list on the Bursts page shows them")
        try:
            found.path.unlink()
        except OSError as exc:
            raise storage_error(exc, found.path) from None

    def _find_file(self, folder: Path, file_id: str) -> ExportFile | None:
        """The file of ``folder`` whose name is ``file_id`` plus a suffix, or None."""
        for path in folder.glob(f"{file_id}.*"):
            if path.name[: len(file_id) + 1] == f"{file_id}." and self.serves(path):
                return ExportFile(file_id, path)
        return None


def _make(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(exc, folder) from None
