"""The ``tether burst`` commands, run as a user would (real subprocess)."""
from __future__ import annotations

import json

import cv2
import numpy as np


def test_info_verify_export_on_a_good_burst(run_tether, make_burst, tmp_path):
    path, _ = make_burst(4)
    result = run_tether("burst", "info", str(path), check=True)
    assert "frames      4" in result.stdout and "Test Cam" in result.stdout and "0..21 steps" in result.stdout
    data = json.loads(run_tether("burst", "info", "--json", str(path), check=True).stdout)
    assert data["frame_count"] == 4 and data["frames"][3]["focus_position"] == 21 and data["recovered"] is False
    assert "OK, 4 frames verified" in run_tether("burst", "verify", str(path), check=True).stdout
    out = run_tether("burst", "export", str(path), "--to", str(tmp_path / "m.mp4"), check=True).stdout
    assert "an MP4 movie of 4 frames" in out
    stopped = run_tether("burst", "export", str(path), "--to", str(tmp_path / "z.mp4"), "--fps", "0")
    assert stopped.returncode != 0
    assert "frame rate 0 fps is not accepted: give more than 0 and at most 240" in stopped.stderr
    assert not (tmp_path / "z.mp4").exists()
    run_tether("burst", "export", str(path), "--to", str(tmp_path / "dir"), check=True)
    assert len(list((tmp_path / "dir").glob("*.jpg"))) == 4


def test_verify_fails_with_one_line_per_problem(run_tether, make_burst):
    path, frames = make_burst(3)
    data = bytearray(path.read_bytes())
    data[data.find(frames[1]) + 300] ^= 1
    path.write_bytes(bytes(data))
    result = run_tether("burst", "verify", str(path))
    assert result.returncode == 1
    assert "problem: frame 2: frames/000001.jpg is damaged (checksum mismatch)" in result.stdout  # counted from 1
    assert result.stderr.strip().startswith("tether: ") and "1 problem(s) found" in result.stderr
    assert "Traceback" not in result.stderr


def test_repair_writes_beside_and_reports(run_tether, make_burst):
    path, _ = make_burst(5)
    raw = path.read_bytes()
    crashed = path.with_name("crashed.zip")
    crashed.write_bytes(raw[:raw.find(b"frames/000004.jpg") + 50])
    info = run_tether("burst", "info", str(crashed), check=True).stdout
    assert "recovered by scanning" in info and "frames      4" in info
    result = run_tether("burst", "repair", str(crashed), check=True)
    assert "crashed-repaired.zip: kept 4 frames, dropped 1" in result.stdout
    assert "dropped: frame 5: " in result.stdout  # frames/000004.jpg, counted from 1
    assert crashed.read_bytes() == raw[:raw.find(b"frames/000004.jpg") + 50]
    again = run_tether("burst", "repair", str(crashed))
    assert again.returncode == 1 and "already exists" in again.stderr


def test_import_then_info(run_tether, tmp_path):
    folder = tmp_path / "stack"
    folder.mkdir()
    for k in range(3):
        cv2.imwrite(str(folder / f"f{k}.png"), np.full((10, 12, 3), k * 50, np.uint8))
    out = tmp_path / "stack.zip"
    assert "3 frames imported" in run_tether("burst", "import", str(folder), "--out", str(out), check=True).stdout
    assert "12x10" in run_tether("burst", "info", str(out), check=True).stdout
    (folder / "readme.md").write_text("x")
    bad = run_tether("burst", "import", str(folder), "--out", str(tmp_path / "other.zip"))
    assert bad.returncode == 1 and "readme.md: not an image file" in bad.stderr


def test_bad_files_are_one_line_errors(run_tether, tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_text("not a zip")
    result = run_tether("burst", "info", str(junk))
    assert result.returncode == 1
    assert result.stderr.strip() == f"tether: {junk}: not a ZIP archive, so not a burst"
