"""The simulated cameras through the real ``tether`` command."""
from __future__ import annotations

import json

import cv2
import numpy as np


def test_cameras_lists_the_four_simulators(run_tether):
    result = run_tether("cameras", check=True)
    ids = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert ids[-4:] == ["sim:macro", "sim:product", "sim:portrait", "sim:landscape"]
    listed = json.loads(run_tether("cameras", "--json", check=True).stdout)
    sims = [c for c in listed if c["simulated"]]
    assert [c["id"] for c in sims] == ids[-4:]
    assert all(c["capabilities"] == ["live_view", "still_capture", "focus_drive", "movie"] for c in sims)


def test_snapshot_writes_a_full_hd_jpeg(run_tether, tmp_path):
    out = tmp_path / "x.jpg"
    result = run_tether("snapshot", "--camera", "sim:macro", "--out", str(out), check=True)
    image = cv2.imdecode(np.frombuffer(out.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (1080, 1920, 3)
    assert "1920x1080" in result.stdout


def test_capture_writes_the_camera_named_still(run_tether, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[sim]\nstill_width = 800\nstill_height = 600\n")
    result = run_tether(
        "--config", str(config), "capture", "--camera", "sim:product", "--out", str(tmp_path), check=True
    )
    still = tmp_path / "SIM_0001.JPG"
    assert still.is_file() and "800x600" in result.stdout


def test_bad_sim_option_is_one_line(run_tether, tmp_path):
    result = run_tether("snapshot", "--camera", "sim:macro?corrupt=1", "--out", str(tmp_path / "x.jpg"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown simulated-camera option 'corrupt'" in lines[0] and "corrupt_every" in lines[0]
