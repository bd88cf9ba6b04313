"""Frame numbers in the real ``tether`` command count from 1, as the panel counts them: the numbers
typed (``--frame``, ``--range``), the numbers printed, and the names of the files written."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tether.burst import BurstWriter, FrameMeta


@pytest.fixture
def burst_file(tmp_path: Path) -> Path:
    """Three small frames, each with its own grey level (frame 2, counted from 1, is 100)."""
    path = tmp_path / "b.burst"
    with BurstWriter.create(path, camera={"model": "test"}, sweep={}, fsync=False) as writer:
        for k in range(3):
            data = cv2.imencode(".jpg", np.full((24, 32, 3), 50 * (k + 1), np.uint8))[1].tobytes()
            writer.append(data, FrameMeta(focus_position=10 * k, source="still"))
    return path


def test_one_frame_exported_is_the_frame_of_that_number_and_named_by_it(run_tether, burst_file: Path,
                                                                      tmp_path: Path) -> None:
    folder = tmp_path / "one"
    folder.mkdir()
    said = run_tether("burst", "export", str(burst_file), "--frame", "2", "--to", str(folder), check=True).stdout
    (written,) = folder.iterdir()
    assert written.name == "b_0002.jpg"
    assert said.startswith(f"{written}: frame 2 ("), said
    middle = run_tether("burst", "export", str(burst_file), "--to", str(tmp_path / "m.jpg"), check=True).stdout
    assert middle.startswith(f"{tmp_path / 'm.jpg'}: frame 2 ("), middle  # the middle one of three
    assert abs(float(cv2.imread(str(written)).mean()) - 100) < 3  # the second frame, not the third
    for typed, says in (("0", "0 is not in the range x>=1"), ("4", "has frames 1-3, not 4")):
        refused = run_tether("burst", "export", str(burst_file), "--frame", typed, "--to", str(tmp_path / "x.jpg"))
        assert refused.returncode == 2 and says in refused.stderr, refused.stderr
        assert not (tmp_path / "x.jpg").exists()


def test_a_folder_export_names_the_frames_from_1_and_info_json_keeps_the_indices(run_tether, burst_file: Path,
                                                                                 tmp_path: Path) -> None:
    run_tether("burst", "export", str(burst_file), "--to", str(tmp_path / "all"), check=True)
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == ["b_0001.jpg", "b_0002.jpg", "b_0003.jpg"]
    # what programs read stays counted from 0
    info = json.loads(run_tether("burst", "info", str(burst_file), "--json", check=True).stdout)
    assert [f["index"] for f in info["frames"]] == [0, 1, 2]


def test_a_stack_range_is_typed_from_1(run_tether, burst_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.png"
    result = run_tether("stack", str(burst_file), "--range", "2:3", "--no-align", "--out", str(out), check=True)
    assert "2 frames" in result.stdout and out.exists()
    refused = run_tether("stack", str(burst_file), "--range", "0:2", "--no-align", "--out", str(tmp_path / "t.png"))
    assert refused.returncode != 0 and "frames are counted from 1" in refused.stderr, refused.stderr
    assert "not within the frames there are, 1-3" in refused.stderr
