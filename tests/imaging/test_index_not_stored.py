"""``tether stack`` and ``tether refocus`` on a burst that cannot take its focus index (a read-only
folder, a full disk): the index is only a cache, so the command warns once and does its job."""
from __future__ import annotations

import resource
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from tether.burst import BurstWriter, FrameMeta, open_burst
from tether.imaging import FOCUS_INDEX_NAME

#: Mounts folder $1 read-only over itself in a private mount namespace, then runs the rest of the arguments.
READ_ONLY = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 97; shift; exec "$@"'
#: unshare's options: root inside a user namespace of its own (so a normal user may mount), a mount namespace.
UNSHARE = ["unshare", "--map-root-user", "--mount"]


@pytest.fixture
def burst(synthetic, tmp_path: Path) -> Path:
    stack = synthetic(n=6, shape=(120, 160), seed=4)
    folder = tmp_path / "bursts"
    folder.mkdir()
    path = folder / "b.burst"
    with BurstWriter.create(path, camera={"model": "test"}, sweep={}, fsync=False) as writer:
        for k, frame in enumerate(stack.frames):
            writer.append(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes(),
                          FrameMeta(focus_position=10 * k, source="still"))
    return path


def run_blocked(blocker: str, burst: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """The real CLI, where the burst cannot grow: its folder mounted read-only, or the disk full at its size
    (RLIMIT_FSIZE at the burst's size: the smaller output file still fits)."""
    command = [sys.executable, "-m", "tether", *args]
    if blocker == "read-only":
        if shutil.which("unshare") is None:
            pytest.skip("no unshare: cannot mount the burst's folder read-only")
        result = subprocess.run([*UNSHARE, "sh", "-c", READ_ONLY, "sh", str(burst.parent), *command],
                                capture_output=True, text=True, timeout=120)
        if result.returncode == 97 or result.stderr.startswith("unshare:"):
            pytest.skip(f"no private read-only mount here: {result.stderr.strip()}")
        return result
    size = burst.stat().st_size

    def disk_full() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return subprocess.run(command, capture_output=True, text=True, timeout=120, preexec_fn=disk_full)


@pytest.mark.parametrize("blocker", ["read-only", "full"])
@pytest.mark.parametrize("command", ["stack", "refocus"])
def test_the_index_not_stored_is_a_warning(burst: Path, tmp_path: Path, blocker: str, command: str) -> None:
    out = tmp_path / "out.jpg"
    before = burst.read_bytes()
    args = ["stack", str(burst), "--out", str(out)] if command == "stack" else \
        ["refocus", str(burst), "--at", "40,40", "--out", str(out)]
    result = run_blocked(blocker, burst, args)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 0
    reason = "Read-only file system" if blocker == "read-only" else "the disk is full"
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].startswith("warning: the focus index is not kept in the burst") and reason in warnings[0]
    assert "Traceback" not in result.stderr
    assert burst.read_bytes() == before
    with open_burst(burst) as reader:
        assert FOCUS_INDEX_NAME not in reader.derived_names()
