"""Sessions on disk (tether.engine.sessions through the store and the engine): the current session and the
counter survive a restart, no name is ever handed out twice (not after a delete, not to two processes,
not over a file someone put there), and the data from before sessions is the default session."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tether.camera.types import CapturedFile
from tether.config import Settings
from tether.engine import Engine
from tether.engine.naming import TemplateError
from tether.engine.sessions import DEFAULT, SessionExists, Sessions
from tether.engine.store import BurstStore
from tether.errors import InvalidInput, NotFound


def still(data: bytes, name: str = "P1000001.JPG") -> CapturedFile:
    return CapturedFile(data, name, "image/jpeg", 0.0, 4, 3)


@pytest.fixture
def engine(data_dir: Path):  # type: ignore[no-untyped-def]
    eng = Engine(Settings().with_overrides({"paths": {"data_dir": str(data_dir)}}), camera_id="sim:macro")
    yield eng
    eng.close()


def test_stills_and_bursts_land_in_the_current_session_named_from_its_template(engine: Engine) -> None:
    engine.store.sessions.use(engine.store.sessions.create("Acme shoes", template="{session}-{seq:03}").id)
    first = engine.store.export(engine.save_capture(still(b"one")))
    burst_id, burst_path = engine.store.new_burst_path()
    assert engine.store.burst_file(burst_id) == burst_path  # before the sweep has created it (the CLI says where)
    second = engine.store.export(engine.save_capture(still(b"two", "P1000002.RW2")))
    folder = engine.store.root / "sessions" / "Acme-shoes"
    assert (first.path, first.path.read_bytes()) == (folder / "Acme-shoes-001.JPG", b"one")
    assert (burst_id, burst_path) == ("Acme-shoes-002", folder / "Acme-shoes-002.burst")
    assert second.path == folder / "Acme-shoes-003.RW2"  # the camera's suffix is kept
    assert {s.id for s in engine.store.stills("Acme-shoes")} == {"Acme-shoes-001", "Acme-shoes-003"}


def test_the_counter_and_the_current_session_survive_a_restart(data_dir: Path) -> None:
    store = BurstStore(data_dir)
    store.sessions.use(store.sessions.create("Catalogue", template="cat-{seq:04}").id)
    names = [store.new_burst_path()[0] for _ in range(2)]
    restarted = BurstStore(data_dir)  # a new server on the same data dir
    assert restarted.sessions.current().id == "Catalogue"
    names.append(restarted.new_burst_path()[0])
    assert names == ["cat-0001", "cat-0002", "cat-0003"]


def test_a_deleted_capture_name_is_not_used_again(engine: Engine) -> None:
    engine.store.sessions.use(engine.store.sessions.create("Shoot", template="{seq:02}").id)
    first = engine.store.export(engine.save_capture(still(b"one")))
    first.path.unlink()
    again = engine.store.export(engine.save_capture(still(b"two")))
    assert (first.id, again.id) == ("01", "02")


def test_a_file_that_has_the_next_name_is_skipped_not_overwritten(engine: Engine) -> None:
    sessions = engine.store.sessions
    sessions.use(sessions.create("Shoot", template="s-{seq:02}").id)
    # put there by hand (a copy from a card), and a burst of another session that has the next name
    (sessions.folder("Shoot") / "s-01.JPG").write_bytes(b"by hand")
    other = sessions.create("Other", template="s-{seq:02}")
    (sessions.folder(other.id) / "s-02.burst").write_bytes(b"")
    saved = engine.store.export(engine.save_capture(still(b"new")))
    assert saved.path.name == "s-03.JPG" and saved.path.read_bytes() == b"new"
    assert (sessions.folder("Shoot") / "s-01.JPG").read_bytes() == b"by hand"


def test_two_processes_never_get_one_name(data_dir: Path) -> None:
    """Two catalogues on one data dir (the server and ``tether sessions`` beside it) share the file lock."""
    Sessions(data_dir).create("Busy", template="{seq}")
    catalogues = [Sessions(data_dir), Sessions(data_dir)]
    names: list[str] = []

    def take(catalogue: Sessions) -> None:
        for _ in range(40):
            names.append(catalogue.reserve("Busy", camera="", taken=lambda name: False))

    threads = [threading.Thread(target=take, args=(c,)) for c in catalogues]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(int, names)) == list(range(1, 81))


def test_the_data_from_before_sessions_is_the_default_session(engine: Engine) -> None:
    old_burst, _ = engine.store.new_burst_path()  # no session chosen: the old layout and naming
    engine.store.burst_file(old_burst).write_bytes(b"")
    old_still = engine.store.export(engine.save_capture(still(b"old")))
    assert old_still.path == engine.store.exports_dir / "P1000001.JPG"
    engine.store.sessions.use(engine.store.sessions.create("New").id)
    assert engine.store.burst_ids(DEFAULT) == [old_burst]
    assert engine.store.sessions.list()[0].id == DEFAULT


def test_sessions_refuse_what_they_cannot_be(data_dir: Path) -> None:
    sessions = Sessions(data_dir)
    sessions.create("Acme")
    with pytest.raises(SessionExists, match="exists already"):
        sessions.create("Acme")
    # one folder on a case-insensitive share (SMB, macOS)
    with pytest.raises(SessionExists, match="differ only in case"):
        sessions.create("ACME")
    with pytest.raises(InvalidInput):
        sessions.create("Default")
    with pytest.raises(InvalidInput):
        sessions.create("///")
    with pytest.raises(TemplateError):
        sessions.create("Bad", template="{session}")
    with pytest.raises(TemplateError):
        sessions.update("Acme", template="../{seq}")
    with pytest.raises(NotFound):
        sessions.use("..")
    with pytest.raises(NotFound):
        sessions.use("nobody")
    assert not (data_dir / "sessions" / "Bad").exists()


def test_a_session_named_in_any_script_keeps_its_name(engine: Engine) -> None:
    sessions = engine.store.sessions
    tokyo, athens = sessions.create("東京スタジオ"), sessions.create("Αθήνα")
    # the name is shown as typed; the folder and the file names need letters any file system takes
    assert (tokyo.name, tokyo.id, athens.id) == ("東京スタジオ", "session-1", "session-2")
    assert sessions.get("session-1").name == "東京スタジオ"
    assert sessions.create("Café Müller").id == "Cafe-Muller"  # Latin letters keep their spelling
    sessions.use(tokyo.id)
    saved = engine.store.export(engine.save_capture(still(b"one")))
    assert saved.path.parent == engine.store.root / "sessions" / "session-1" and saved.path.read_bytes() == b"one"
