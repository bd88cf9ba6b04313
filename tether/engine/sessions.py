"""Sessions: a shoot's folder in the data dir, with its name, client, notes, naming template and counter.

``<data_dir>/sessions/<id>/`` holds the session's stills and bursts, named from its template
(tether.engine.naming), and ``.session.json`` (name, client, notes, template, subject, next counter
value). ``<data_dir>/sessions/.current`` names the session captures land in, so a restart keeps it.
The counter is taken under a file lock and saved before the name is used, so a crash, a restart or a
second process (``tether sessions`` beside the server) never hands out a number twice.

Data from before sessions (``<data_dir>/bursts`` and ``exports``) is the *default* session: it has
no folder of its own and keeps the old naming (random ids, the camera's file names for stills).
"""
from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from tether.engine.ids import UnknownId, check_id, is_valid_id
from tether.engine.naming import DEFAULT_TEMPLATE, Fields, clean_value, folded, parse_template, render
from tether.errors import InvalidInput
from tether.fileio import StorageError, lock, storage_error, write_atomic

log = logging.getLogger(__name__)

DEFAULT = "default"
META = ".session.json"
LOCK = ".session.lock"
CURRENT = ".current"
#: Names tried for one capture before giving up: each try skips a name some file already has.
MAX_TRIES = 1000


class SessionExists(InvalidInput):
    """A new session was given the name of one that exists."""


@dataclass(frozen=True)
class Session:
    """One session's record; ``seq`` is the counter value the next capture gets."""

    id: str
    name: str
    client: str = ""
    notes: str = ""
    template: str = DEFAULT_TEMPLATE
    subject: str = ""
    created: float = 0.0
    seq: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: The fields a person may change after creating a session (the id and counter are the server's).
EDITABLE = ("client", "notes", "template", "subject")


class Sessions:
    """The sessions of one data directory, and which one is current."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = Path(data_dir) / "sessions"
        self._lock = threading.Lock()

    # where -------------------------------------------------------------------------------------
    def folder(self, session_id: str) -> Path:
        """The folder of session ``session_id`` (checked id; the default session has none)."""
        return self.dir / check_id(session_id, "session")

    def folders(self) -> list[Path]:
        """Every session's folder (not the default session's old ones)."""
        if not self.dir.is_dir():
            return []
        return sorted(p for p in self.dir.iterdir() if p.is_dir() and (p / META).is_file())

    def of_path(self, path: Path) -> str:
        """The session a file in the data dir belongs to."""
        return path.parent.name if path.parent.parent == self.dir else DEFAULT

    # the catalogue -----------------------------------------------------------------------------
    def list(self) -> list[Session]:
        """The default session, then every session, newest first."""
        found = []
        for folder in self.folders():
            try:
                found.append(self._read(folder))
            except StorageError as exc:  # one damaged record must not hide the other sessions
                log.warning("%s", exc)
        return [default_session(), *sorted(found, key=lambda s: s.created, reverse=True)]

    def get(self, session_id: str) -> Session:
        if session_id == DEFAULT:
            return default_session()
        folder = self.folder(session_id)
        if not (folder / META).is_file():
            raise UnknownId(f"no session {session_id!r}", hint="'tether sessions list' shows them")
        return self._read(folder)

    def find(self, name_or_id: str) -> Session:
        """The session a person named: by its id, or by the name it was created with (case and accents
        ignored: ``Café Müller`` finds the session ``Cafe-Muller``)."""
        text = name_or_id.strip()
        if text == DEFAULT or (is_valid_id(text) and (self.folder(text) / META).is_file()):
            return self.get(text)
        wanted = folded(text)
        for session in self.list()[1:]:
            if folded(session.name) == wanted or folded(session.id) == wanted:
                return session
        raise UnknownId(f"no session {text!r}", hint="'tether sessions list' shows them")

    def create(self, name: str, *, client: str = "", notes: str = "", template: str = DEFAULT_TEMPLATE) -> Session:
        """A new session (its folder made at once, so two of one name cannot both be created)."""
        session_id = clean_value(name)
        if not any(ch.isalnum() for ch in name) or session_id.casefold() == DEFAULT:
            raise InvalidInput(f"{name!r} cannot name a session", hint="use letters or digits (not 'default')")
        parse_template(template)
        if not session_id:  # letters with no Latin spelling (東京, Αθήνα): the name stays, the folder is numbered
            session_id = self._unused_number()
        folder = self.folder(session_id)
        # Names that differ only in case are one folder on the case-insensitive shares (SMB, macOS) a
        # studio may keep its data on: refused here too, so the data folder moves without clashes.
        same = next((f.name for f in self.folders() if f.name.casefold() == session_id.casefold()), None)
        if same is not None and same != session_id:
            raise SessionExists(f"a session {same!r} exists already (names differ only in case)",
                                hint=f"'tether sessions use {same}' makes it current")
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            folder.mkdir()
        except FileExistsError:
            raise SessionExists(f"a session {session_id!r} exists already",
                                hint=f"'tether sessions use {session_id}' makes it current") from None
        except OSError as exc:
            raise storage_error(exc, folder) from None
        session = Session(session_id, name.strip(), client, notes, template, created=time.time())
        self._write(session)
        return session

    def _unused_number(self) -> str:
        """``session-N`` for the lowest N no folder has (a race for it ends in :class:`SessionExists`)."""
        taken = {f.name.casefold() for f in self.folders()}
        return next(f"session-{n}" for n in itertools.count(1) if f"session-{n}" not in taken)

    def update(self, session_id: str, **changes: Any) -> Session:
        """Change the client, notes, naming template or subject (barcode) of a session."""
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise InvalidInput(f"a session's {', '.join(sorted(unknown))} cannot be changed")
        if session_id == DEFAULT:
            raise InvalidInput("the default session holds the data from before sessions and cannot be changed",
                               hint="create a session for new captures")
        if "template" in changes:
            parse_template(changes["template"])
        with self._locked(session_id):
            session = replace(self.get(session_id), **changes)
            self._write(session)
        return session

    # the current session -----------------------------------------------------------------------
    def current(self) -> Session:
        """The session captures land in: the one last chosen (if it still exists), else the default."""
        try:
            chosen = (self.dir / CURRENT).read_text(encoding="utf-8").strip()
            return self.get(chosen)
        except (OSError, UnknownId):
            return default_session()

    def use(self, session_id: str) -> Session:
        session = self.get(session_id)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            write_atomic(self.dir / CURRENT, session.id.encode())
        except OSError as exc:
            raise storage_error(exc, self.dir / CURRENT) from None
        return session

    # naming ------------------------------------------------------------------------------------
    def reserve(self, session_id: str, *, camera: str, taken: Callable[[str], bool], when: float | None = None) -> str:
        """The next name session ``session_id``'s template gives (without suffix): its counter moves on and
        is saved first, and names ``taken`` says a file has already are skipped, never reused."""
        with self._locked(session_id):
            session = self.get(session_id)
            name, seq = _first_free(session, camera=camera, taken=taken, when=when)
            self._write(replace(session, seq=seq + 1))
        return name

    def next_name(self, session_id: str, *, camera: str, taken: Callable[[str], bool]) -> str:
        """The name :meth:`reserve` would give now, the counter left where it is (what the panel shows)."""
        return _first_free(self.get(session_id), camera=camera, taken=taken, when=None)[0]

    # the record --------------------------------------------------------------------------------
    @contextmanager
    def _locked(self, session_id: str) -> Iterator[None]:
        """This process's threads, and other processes (the CLI beside the server), one at a time."""
        folder = self.folder(session_id)
        with self._lock:
            try:
                fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except FileNotFoundError:
                raise UnknownId(f"no session {session_id!r}") from None
            except OSError as exc:
                raise storage_error(exc, folder / LOCK) from None
            try:
                lock(fd, wait=True)  # where the file system has no locks, this lock is only the thread lock
                yield
            finally:
                os.close(fd)

    def _read(self, folder: Path) -> Session:
        try:
            data = json.loads((folder / META).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StorageError(f"session {folder.name}: {META} cannot be read ({exc})",
                               hint="restore it from a backup, or move the folder out of the data dir") from None
        known = {k: v for k, v in data.items() if k in Session.__dataclass_fields__ and k != "id"}
        return Session(folder.name, **known)

    def _write(self, session: Session) -> None:
        record = {k: v for k, v in session.to_dict().items() if k != "id"}
        write_atomic(self.folder(session.id) / META, json.dumps(record, indent=1).encode())


def _first_free(session: Session, *, camera: str, taken: Callable[[str], bool], when: float | None) -> tuple[str, int]:
    """(name, counter) of the first name from ``session``'s counter on that no file has yet."""
    template = parse_template(session.template)
    for seq in range(session.seq, session.seq + MAX_TRIES):
        name = render(template, Fields(session.name, seq, camera=camera, subject=session.subject, when=when))
        if not taken(name):
            return name, seq
    raise StorageError(f"session {session.id}: {MAX_TRIES} names in a row are taken", hint="change the naming template")


def default_session() -> Session:
    return Session(DEFAULT, "Default (before sessions)", notes="bursts and stills taken before any session",
                   template="")
