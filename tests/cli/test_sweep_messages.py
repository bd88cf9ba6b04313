"""What the real ``tether sweep`` tells a user or a script: the plan's warnings, no stray progress labels
on stderr, and an exit code that tells a sweep cancelled with Ctrl-C from a full one."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tether.burst import open_burst

#: A small, fast simulated camera (these sweeps use live view only).
CONFIG = '[sim]\nliveview_width = 480\nliveview_height = 270\nliveview_fps = 120.0\nfocus_step_ms = 0.2\n'


@pytest.fixture
def args(tmp_path: Path) -> list[str]:
    config = tmp_path / "tether.toml"
    config.write_text(CONFIG)
    return ["--config", str(config), "--data-dir", str(tmp_path / "data")]


def test_a_sweep_prints_its_plans_warnings_and_no_progress_labels(run_tether, args: list[str]) -> None:
    # 4 frames over the macro scene's range: far more apart than its depth of field
    result = run_tether(*args, "sweep", "--camera", "sim:macro", "--frames", "4")
    assert result.returncode == 0, result.stderr
    warning = next((line for line in result.stdout.splitlines() if "steps apart but the depth of field is" in line), "")
    assert warning.startswith("warning: frames are ") and warning.endswith("allow more frames"), result.stdout
    # click prints a bar's label alone when stderr is no terminal: "pre-scan: prescan", "sweep: sweep"
    assert result.stderr == ""


def test_a_sweep_cancelled_with_ctrl_c_keeps_its_frames_and_exits_130(args: list[str], tmp_path: Path) -> None:
    out = tmp_path / "cut.burst"
    command = [sys.executable, "-m", "tether", *args, "sweep", "--camera", "sim:macro", "--range", "0:240",
               "--step", "small", "--step-count", "1", "--out", str(out)]
    # SIGINT as the shell's Ctrl-C leaves it (a runner's ignored SIGINT would be inherited)
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)) as process:
        deadline = time.monotonic() + 60  # a few frames in (each is tens of kB)
        while process.poll() is None and time.monotonic() < deadline and not (out.exists() and
                                                                              out.stat().st_size > 100_000):
            time.sleep(0.05)
        assert process.poll() is None, "the sweep ended before it could be cancelled"
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stdout + stderr
    assert stdout.startswith("cancelled, kept "), stdout
    with open_burst(out) as reader:
        assert 0 < reader.frame_count < 241
        assert f"kept {reader.frame_count} frames" in stdout


def test_a_range_given_by_hand_says_where_its_frames_start_and_why(run_tether, args: list[str],
                                                                  tmp_path: Path) -> None:
    # 10 frames over 25:202 are 20 steps apart (whole medium steps): they span 180 steps, 3 more than the range
    out = tmp_path / "r.burst"
    result = run_tether(*args, "sweep", "--camera", "sim:macro", "--range", "25:202", "--frames", "10",
                        "--out", str(out))
    assert result.returncode == 0, result.stderr
    with open_burst(out) as reader:
        positions = [meta.focus_position for meta in reader.frames_meta()]
    assert (positions[0], positions[-1], len(positions)) == (22, 202, 10)
    assert result.stdout.splitlines()[2] == (
        "note: the first frame is at 22, 3 steps before Near (25): 10 frames 20 steps apart span 180 steps, "
        "more than the range, and the last is kept at Far (202) rather than past it")
    # a range the frames fit end to end needs no note
    fits = run_tether(*args, "sweep", "--camera", "sim:macro", "--range", "22:202", "--frames", "10",
                      "--out", str(tmp_path / "fits.burst"))
    assert fits.returncode == 0 and "note:" not in fits.stdout, fits.stdout
