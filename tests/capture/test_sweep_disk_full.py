"""A sweep on a disk that fills up: the message says what was kept and whether it needs a repair, and a
sweep that kept no frame leaves no burst behind."""
from __future__ import annotations

import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tether.burst import open_burst
from tether.capture import SweepOptions
from tether.capture.sweep import Hooks, run_sweep
from tether.engine.store import BurstStore
from tether.errors import Cancelled

CONFIG = """
[sim]
liveview_width = 480
liveview_height = 270
liveview_fps = 120.0
focus_step_ms = 0.2
"""
SWEEP = ("sweep", "--camera", "sim:macro", "--range", "40:100", "--step", "small", "--step-count", "10")


def sweep_with_file_limit(tmp_path: Path, limit: int | None, *out: str) -> subprocess.CompletedProcess[str]:
    """The real CLI with no file allowed to grow past ``limit`` bytes (a disk that is full at that point)."""
    config = tmp_path / "tether.toml"
    config.write_text(CONFIG)

    def limit_files() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, "-m", "tether", "--config", str(config), "--data-dir",
                           str(tmp_path / "data"), *SWEEP, *out],
                          capture_output=True, text=True, timeout=120, preexec_fn=limit_files)


def end_of_frame(burst: Path, index: int) -> int:
    """Where frame ``index``'s entries end in a whole sweep's burst: the size a disk holding only them has."""
    with zipfile.ZipFile(burst) as archive:
        return next(i.header_offset for i in archive.infolist() if i.filename == f"meta/{index + 1:06d}.json")


@pytest.mark.parametrize("limit", [100, 3000])  # not even the header fits; the header but no frame
def test_a_sweep_that_keeps_no_frame_leaves_no_burst_and_asks_for_no_repair(tmp_path, limit) -> None:
    result = sweep_with_file_limit(tmp_path, limit)  # into the data dir: the gallery
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].endswith(
        "the disk is full (or the file size limit was reached); the sweep stopped before its first frame and no "
        "burst was kept (free some space and sweep again; there is nothing to repair)"), result.stderr
    assert "repair '" not in result.stderr and "WARNING" not in result.stderr
    assert BurstStore(tmp_path / "data").burst_ids() == []
    assert not list((tmp_path / "data" / "bursts").glob("*"))


@pytest.mark.parametrize("room,closed", [(8000, True), (300, False)])  # after 3 frames: room to close it, or not
def test_a_sweep_stopped_by_a_full_disk_names_the_frames_kept_and_asks_for_repair_only_when_unclosed(
        tmp_path, run_tether, room, closed) -> None:
    whole = tmp_path / "whole.burst"
    assert sweep_with_file_limit(tmp_path, None, "--out", str(whole)).returncode == 0
    out = tmp_path / "full.burst"
    result = sweep_with_file_limit(tmp_path, end_of_frame(whole, 2) + room, "--out", str(out))
    assert result.returncode == 1
    kept = (f"tether: {out}: the disk is full (or the file size limit was reached); the sweep stopped after 3 "
            "frame(s), kept in burst full.burst")
    last = result.stderr.splitlines()[-1]
    if closed:
        assert last == f"{kept} (the burst is closed and needs no repair; free some space before the next sweep)"
        assert "OK, 3 frames verified" in run_tether("burst", "verify", str(out), check=True).stdout
        with open_burst(out) as reader:
            assert reader.info()["status"] == "interrupted"
    else:
        assert last == f"{kept}, which could not be closed (free some space, then run 'tether burst repair {out}')"
        repaired = run_tether("burst", "repair", str(out), check=True)
        assert "kept 3 frames" in repaired.stdout, repaired.stdout
    assert "WARNING" not in result.stderr


def test_a_sweep_cancelled_before_its_first_frame_leaves_no_burst(truth_camera, tmp_path) -> None:
    path = tmp_path / "cancelled.burst"

    def check() -> None:
        if path.exists():  # the burst is begun: cancel before any frame is added
            raise Cancelled("sweep cancelled")

    result = run_sweep(truth_camera("sim:macro"), SweepOptions(range=(40, 60), step="small", step_count=5), path,
                       Hooks(check=check))
    assert result["cancelled"] and result["frames"] == 0 and result["burst"] is None
    assert not path.exists() and list(tmp_path.iterdir()) == []
