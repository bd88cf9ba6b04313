"""Outputs that cannot be written, through the real ``tether``: one line of tether's naming the file (no
traceback), a hint that says what is wrong (no "free some space" for a folder that cannot be written), and a
picture the camera sent undecodable is kept but not called a success.

A folder that cannot be written is a path under a regular file (ENOTDIR): it refuses root too, so the tests
mean the same as any user and in any CI."""
from __future__ import annotations

import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from tether.burst import BurstWriter, FrameMeta


def write_burst(path: Path, frames: int = 4) -> Path:
    """A small real burst of a textured scene (enough for refocus and stacking)."""
    rng = np.random.default_rng(3)
    texture = cv2.resize(rng.uniform(0, 255, (24, 32, 3)).astype(np.uint8), (128, 96))
    with BurstWriter.create(path, camera={"model": "Test rig"}, sweep={"mode": "liveview"}) as writer:
        for i in range(frames):
            data = cv2.imencode(".jpg", cv2.GaussianBlur(texture, (0, 0), 0.5 + i))[1].tobytes()
            writer.append(data, FrameMeta(captured_at=1_700_000_000 + i, focus_position=10 * i))
    return path


@pytest.fixture
def place(tmp_path: Path) -> Path:
    """A folder holding a burst, a copy of it cut off in its last frame (as a kill -9 leaves it), two of its
    frames as JPEGs, and ``file``: a regular file, no folder."""
    burst = write_burst(tmp_path / "s.burst")
    raw = burst.read_bytes()
    (tmp_path / "k.burst").write_bytes(raw[:raw.find(b"frames/000003.jpg") + 50])
    with zipfile.ZipFile(burst) as archive:
        for n in (0, 1):
            (tmp_path / f"f{n}.jpg").write_bytes(archive.read(f"frames/{n:06d}.jpg"))
    (tmp_path / "file").write_text("not a folder")
    return tmp_path


COMMANDS = {
    "stack": ["stack", "f0.jpg", "f1.jpg", "--out", "file/x.jpg"],
    "refocus": ["refocus", "s.burst", "--at", "10,10", "--out", "file/x.jpg"],
    "aperture": ["aperture", "s.burst", "--focus", "10,10", "--f-number", "2", "--captured-f-number", "8",
                 "--out", "file/x.jpg"],
    "export-living": ["export-living", "s.burst", "--out", "file/x.html"],
    "snapshot": ["snapshot", "--out", "file/x.jpg"],
    "capture": ["capture", "--out", "file/x.jpg"],
    "burst export --frame": ["burst", "export", "s.burst", "--frame", "2", "--to", "file/x.jpg"],
    "batch --out-dir": ["batch", "s.burst", "--out-dir", "file/results"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_output_in_a_folder_that_cannot_be_written_is_one_line(run_tether, place: Path, command: str) -> None:
    args = COMMANDS[command]
    result = run_tether(*args, cwd=place)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"tether: {args[-1]}: Not a directory", result.stderr
    assert "Traceback" not in result.stderr


def test_a_depth_map_that_cannot_be_written_is_one_line(run_tether, place: Path) -> None:
    result = run_tether("stack", "s.burst", "--out", "x.jpg", "--depth-map", "file/d.png", cwd=place)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == "tether: file/d.png: Not a directory", result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args, hint", [
    (["sweep", "--frames", "3", "--range", "100:160", "--out", "file/s.burst"],
     "choose a folder tether can write to and sweep again; there is nothing to repair"),
    (["burst", "repair", "k.burst", "--out", "file/r.burst"],
     "choose a folder tether can write to and run repair again; k.burst is unchanged"),
])
def test_a_folder_that_cannot_be_written_is_not_called_a_full_disk(run_tether, place: Path, args: list[str],
                                                                   hint: str) -> None:
    result = run_tether(*args, cwd=place)
    assert result.returncode == 1, result.stdout + result.stderr
    line = result.stderr.strip()
    assert "\n" not in line and "Not a directory" in line and line.endswith(f"({hint})"), line
    assert "space" not in line


def test_an_import_stopped_by_a_full_disk_says_nothing_was_kept(place: Path) -> None:
    frames = place / "frames"
    frames.mkdir()
    for n in (0, 1):
        (place / f"f{n}.jpg").rename(frames / f"f{n}.jpg")
    limit = (frames / "f0.jpg").stat().st_size + 2000  # room for the header and about one frame

    def limit_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run([sys.executable, "-m", "tether", "burst", "import", "frames", "--out", "i.burst"],
                            capture_output=True, text=True, timeout=120, cwd=place, preexec_fn=limit_files)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        "tether: i.burst: the disk is full (or the file size limit was reached) "
        "(no burst was kept; free some space and import again)"]
    assert not (place / "i.burst").exists()


@pytest.mark.parametrize("command", ["snapshot", "capture"])
def test_a_picture_the_camera_sent_undecodable_is_kept_but_not_a_success(run_tether, tmp_path: Path,
                                                                         command: str) -> None:
    out = tmp_path / "p.jpg"
    result = run_tether(command, "--camera", "sim:macro?corrupt_every=1", "--out", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"warning: {out}: the camera sent a picture that cannot be decoded; its bytes are kept as they came"]
    assert out.read_bytes()[:2] == b"\xff\xd8" and cv2.imread(str(out)) is None  # the camera's bytes, as they came
