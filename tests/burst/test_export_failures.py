"""``tether burst export`` when something goes wrong: a full disk fails in one line and leaves nothing, and a
frame damaged in the burst is left out (every other frame exported), named in one warning line, exit 1."""
from __future__ import annotations

import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import pytest


def export_with_file_limit(burst: Path, target: Path, limit: int) -> subprocess.CompletedProcess[str]:
    """The real CLI with no file allowed to grow past ``limit`` bytes (a disk that is full at that point)."""
    def limit_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, "-m", "tether", "burst", "export", str(burst), "--to", str(target)],
                          capture_output=True, text=True, timeout=120, preexec_fn=limit_files)


def test_an_mp4_cut_short_by_a_full_disk_fails_in_one_line_and_leaves_nothing(run_tether, make_burst,
                                                                              tmp_path) -> None:
    burst, _ = make_burst(8, width=320, height=240)  # noise: a movie of some size
    whole = tmp_path / "whole.mp4"
    run_tether("burst", "export", str(burst), "--to", str(whole), check=True)
    folder = tmp_path / "full"
    folder.mkdir()
    movie = folder / "a.mp4"

    result = export_with_file_limit(burst, movie, whole.stat().st_size // 2)

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    # nothing of ffmpeg's own on the terminal, only tether's line
    assert result.stderr.splitlines() == [f"tether: {movie}: the disk is full (or the file size limit was reached)"]
    assert list(folder.iterdir()) == []  # no movie, not even a temporary one


def flip_a_byte(burst: Path, out: Path, frame_entry: str) -> Path:
    """A copy of ``burst`` with one byte of ``frame_entry``'s data changed (its checksum no longer matches)."""
    raw = bytearray(burst.read_bytes())
    with zipfile.ZipFile(burst) as archive:
        info = archive.getinfo(frame_entry)
    raw[info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size // 2] ^= 0xFF
    out.write_bytes(raw)
    return out


def exported_frames(kind: str, target: Path) -> list[str] | int:
    """The frames' file names in a folder or ZIP export; the number of frames in a movie."""
    if kind == "folder":
        return sorted(p.name for p in target.iterdir())
    if kind == "zip":
        with zipfile.ZipFile(target) as archive:
            return sorted(Path(name).name for name in archive.namelist())
    movie = cv2.VideoCapture(str(target))
    count = 0
    while movie.read()[0]:
        count += 1
    movie.release()
    return count


@pytest.mark.parametrize("kind, name, said", [("folder", "flipjp", "a folder"), ("zip", "flip.zip", "a ZIP"),
                                              ("mp4", "flip.mp4", "an MP4 movie")])
def test_a_damaged_frame_is_left_out_and_every_other_frame_exported(run_tether, make_burst, tmp_path, kind,
                                                                    name, said) -> None:
    good, _ = make_burst(6, width=96, height=64)
    burst = flip_a_byte(good, tmp_path / "flip.burst", "frames/000004.jpg")  # frame 5, counted from 1
    target = tmp_path / name

    result = run_tether("burst", "export", str(burst), "--to", str(target))

    assert result.returncode == 1, result.stdout + result.stderr  # a script notices the missing frame
    assert result.stdout.startswith(f"{target}: {said} of 5 frames")
    assert result.stderr.splitlines() == [f"warning: {burst}: frame 5 is damaged and left out of {target}"]
    expected = 5 if kind == "mp4" else [f"flip_{n:04d}.jpg" for n in (1, 2, 3, 4, 6)]
    assert exported_frames(kind, target) == expected
