"""The real CLI on a file system without locks (some network and FUSE mounts: flock fails with ENOLCK there),
simulated for the whole ``tether`` process by a ``sitecustomize`` that makes every flock fail that way.

One rule (``fileio.lock``): where nothing can hold a lock, nothing is held. Saves go ahead, and nothing is
reported as still being written; before, a burst import failed outright and every export failed to save."""
from __future__ import annotations

import errno
import fcntl
from pathlib import Path

import cv2
import numpy as np

from tether.burst import open_burst
from tether.engine.sessions import Sessions
from tether.imaging import FOCUS_INDEX_NAME

NO_LOCKS = '''
import errno, fcntl

def _flock(fd, operation):
    raise OSError(errno.ENOLCK, "No locks available")

fcntl.flock = _flock
'''


def test_import_export_and_stack_work_where_the_file_system_has_no_locks(run_tether, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_LOCKS)
    env = {"PYTHONPATH": str(site)}
    rng = np.random.default_rng(0)
    texture = cv2.resize(rng.uniform(0, 255, (12, 16, 3)).astype(np.uint8), (128, 96))
    for k in range(3):
        cv2.imwrite(str(tmp_path / f"f{k}.jpg"), np.roll(texture, 3 * k, axis=1))
    burst = tmp_path / "b.burst"
    made = run_tether("burst", "import", *(str(tmp_path / f"f{k}.jpg") for k in range(3)), "--out", str(burst),
                      env=env)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == f"{burst}: 3 frames imported"
    exported = run_tether("burst", "export", str(burst), "--to", str(tmp_path / "b.zip"), env=env)
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "b.zip").stat().st_size > 0
    # the import stored its focus index under the burst's lock (open_locked); a repair first asks whether a
    # sweep still writes the burst (being_written): both see a burst nobody holds
    with open_burst(burst) as reader:
        assert FOCUS_INDEX_NAME in reader.derived_names()
    repaired = run_tether("burst", "repair", str(burst), env=env)
    assert repaired.returncode == 0, repaired.stderr
    assert repaired.stdout.strip() == f"{burst}: intact, 3 frames; nothing to repair"


def test_a_session_names_captures_where_the_file_system_has_no_locks(monkeypatch, tmp_path: Path) -> None:
    """The session's counter file lock (the server and the CLI beside it), on the same rule, in this process."""
    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    sessions = Sessions(tmp_path)
    sessions.create("Shoot", template="{seq}")
    assert [sessions.reserve("Shoot", camera="", taken=lambda name: False) for _ in range(2)] == ["1", "2"]
