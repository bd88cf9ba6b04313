"""The real ``tether stack``: its progress bars ("Analysing", "Stacking") are drawn on a terminal only. With
stderr captured (a script, a log) they would be bare labels on lines of their own, telling the reader nothing."""
from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np


def stack_inputs(folder: Path) -> list[str]:
    rng = np.random.default_rng(3)
    texture = cv2.resize(rng.uniform(0, 255, (12, 16, 3)).astype(np.uint8), (128, 96))
    paths = []
    for k in range(3):
        path = folder / f"f{k}.jpg"
        cv2.imwrite(str(path), cv2.GaussianBlur(texture, (0, 0), 0.5 + k))
        paths.append(str(path))
    return paths


def test_stack_prints_no_progress_labels_when_stderr_is_not_a_terminal(run_tether, tmp_path: Path) -> None:
    out = tmp_path / "s.jpg"
    result = run_tether("stack", *stack_inputs(tmp_path), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {out} ")
    assert result.stderr == ""  # no "Analysing" or "Stacking" line


def test_stack_shows_its_progress_on_a_terminal(tmp_path: Path) -> None:
    inputs = stack_inputs(tmp_path)
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run([sys.executable, "-m", "tether", "stack", *inputs, "--out", str(tmp_path / "s.jpg")],
                                stdout=subprocess.PIPE, stderr=terminal, timeout=120, check=False)
        os.close(terminal)
        terminal = -1
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal's other end is closed: all of it was read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)
    assert result.returncode == 0
    assert b"Analysing" in shown and b"Stacking" in shown
