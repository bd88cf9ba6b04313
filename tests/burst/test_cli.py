"""The ``tether burst`` commands, run as a user would (real subprocess)."""
from __future__ import annotations

import json

import cv2
import numpy as np

from tether.burst import BurstWriter, FrameMeta


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


def test_info_reads_as_words_with_the_title_notes_and_the_plans_warning(run_tether, tmp_path):
    from tether.burst.derived import store_derived
    from tether.burst.labels import LABELS_NAME

    plan = {"start": 13, "end": 200.0, "spacing": 17.0, "frames": 12, "count": 17, "step_class": "small",
            "reason": "12 frames, as asked", "note": "",
            "warnings": ["frames are 17 steps apart but the depth of field is about 3: some depths will not be "
                         "sharp in any frame; allow more frames"]}
    later = {"mode": "liveview", "range": [0, 12], "plan": dict(plan, start=0, end=12.0, spacing=1.0, frames=13)}
    sweep = {"mode": "liveview", "range": [20, 200], "dof": 3.1, "plan": plan, "unit": "small focus steps",
             "scale": {"small": 1.0}, "merged": [later]}
    path = tmp_path / "b.burst"
    with BurstWriter.create(path, camera={"model": "Test Cam"}, sweep=sweep) as writer:
        for i in range(2):
            writer.append(cv2.imencode(".jpg", np.full((8, 8, 3), 9 * i, np.uint8))[1].tobytes(),
                          FrameMeta(captured_at=1_700_000_000 + 708.3 * i, focus_position=13 + 17 * i))
    store_derived(path, LABELS_NAME, json.dumps({"title": "Coin, Café test", "notes": "f/2.8\nsecond try"}).encode())
    said = run_tether("burst", "info", str(path), check=True).stdout
    assert "  title       Coin, Café test\n  notes       f/2.8\n              second try\n" in said, said
    assert ("  sweep       liveview; 12 frames 17 steps apart, 13..200; Near 20, Far 200; depth of field about "
            "3.1 steps; extended by 1 later sweep(s): 13 frames 1 step apart, 0..12, Near 0, Far 12\n") in said, said
    assert "  warning     frames are 17 steps apart but the depth of field is about 3" in said, said
    assert "duration    11 min 48 s" in said and "{" not in said, said
    data = json.loads(run_tether("burst", "info", "--json", str(path), check=True).stdout)
    assert (data["title"], data["sweep"]["plan"]["frames"]) == ("Coin, Café test", 12)


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
