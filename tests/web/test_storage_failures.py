"""The server when its exports folder cannot be written: a JSON answer or a job error of one line naming the
file below the data folder (no 500, no "internal error", no server path); and at start-up it removes the
temporaries a server killed during an export left, never one a running writer holds."""
from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.test_imaging_api import wait_job
from tether.engine import Engine
from tether.fileio import hold


@pytest.fixture
def unwritable_exports(engine: Engine) -> Iterator[Path]:
    """The engine's exports folder, made unwritable: by its mode for a user; root ignores modes, so for root
    by the immutable attribute (skipped where the filesystem has none)."""
    folder = engine.store.exports_dir
    if os.geteuid() == 0:
        made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
        if made.returncode != 0:
            pytest.skip(f"root ignores folder modes and chattr +i is not available here: {made.stderr.strip()}")
        yield folder
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)


def test_a_capture_into_an_unwritable_exports_folder_is_a_507_of_one_line(client, engine: Engine,
                                                                          unwritable_exports: Path) -> None:
    engine.start()
    answer = client.post("/api/cameras/sim:macro/capture")
    assert answer.status_code == 507, answer.data[:200]
    body = answer.get_json()
    assert body["kind"] == "StorageError" and body["error"].startswith("exports/")
    assert str(engine.store.root) not in body["error"]
    assert list(unwritable_exports.iterdir()) == []


@pytest.mark.parametrize("fmt", ["frame", "zip", "mp4"])
def test_an_export_job_into_an_unwritable_exports_folder_fails_in_one_line(client, burst, engine: Engine,
                                                                           unwritable_exports: Path,
                                                                           fmt: str) -> None:
    burst_id = burst(4)
    started = client.post(f"/api/bursts/{burst_id}/export", json={"format": fmt, "frame": 1})
    assert started.status_code == 202, started.get_json()
    job = wait_job(client, started.get_json()["job"])
    assert job["state"] == "error"
    assert job["error"].startswith("exports/") and "internal error" not in job["error"], job["error"]
    assert str(engine.store.root) not in job["error"]
    assert list(unwritable_exports.iterdir()) == []


def test_start_up_removes_the_temporaries_a_killed_export_left(engine: Engine) -> None:
    exports = engine.store.exports_dir
    left = [exports / ".b1.mp4.k2x9_abc.part.mp4", exports / ".still.jpg.q8w7e6r5.part",
            engine.store.bursts_dir / ".b1-repaired.burst.0a1b2c3d.part"]
    kept = [exports / "b1.mp4", exports / "notes.part", exports / ".b1.mp4.short.part.mp4"]  # not tether's temporaries
    for path in left + kept:
        path.write_bytes(b"x")
    writing = exports / ".b2.zip.abcdefgh.part.zip"  # a writer (another process) is still at it
    fd = os.open(writing, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        hold(fd)
        engine.start()
        assert [p for p in left if p.exists()] == []
        assert all(p.exists() for p in kept) and writing.exists()
    finally:
        os.close(fd)
