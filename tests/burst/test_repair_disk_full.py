"""``tether burst repair`` on a disk that fills up: the repaired copy is complete or absent, never a
shorter burst that verifies as good."""
from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest


def crashed_burst(make_burst, folder: Path) -> Path:  # type: ignore[no-untyped-def]
    """A burst cut off in the middle of its last frame, as a kill -9 leaves it: it needs a repair."""
    path, _ = make_burst(24, width=320, height=240)
    raw = path.read_bytes()
    crashed = folder / "k0.burst"
    crashed.write_bytes(raw[:raw.find(b"frames/000023.jpg") + 50])
    path.unlink()
    return crashed


def repair_with_file_limit(burst: Path, limit: int) -> subprocess.CompletedProcess[str]:
    """The real CLI with no file allowed to grow past ``limit`` bytes (a disk that is full at that point)."""
    def limit_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, "-m", "tether", "burst", "repair", str(burst)],
                          capture_output=True, text=True, timeout=120, preexec_fn=limit_files)


@pytest.mark.parametrize("share", [0.05, 0.5, None])  # None: room for all but the closing records
def test_repair_on_a_full_disk_leaves_no_burst_behind(run_tether, make_burst, tmp_path, share) -> None:
    whole = tmp_path / "whole"
    whole.mkdir()
    run_tether("burst", "repair", str(crashed_burst(make_burst, whole)), check=True)
    complete_size = (whole / "k0-repaired.burst").stat().st_size

    folder = tmp_path / "full"
    folder.mkdir()
    crashed = crashed_burst(make_burst, folder)
    before = crashed.read_bytes()
    limit = complete_size - 200 if share is None else int(complete_size * share)
    result = repair_with_file_limit(crashed, limit)

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"tether: {folder / 'k0-repaired.burst'}: not written: the disk is full (or the file size limit was "
        f"reached) (free some space and run repair again; {crashed} is unchanged)"]
    assert sorted(p.name for p in folder.iterdir()) == ["k0.burst"]  # no copy, not even a temporary one
    assert crashed.read_bytes() == before
    # with room again, the repair is whole and a second one finds nothing to do
    again = run_tether("burst", "repair", str(crashed), check=True)
    assert "kept 23 frames, dropped 1" in again.stdout
    repaired = folder / "k0-repaired.burst"
    assert "OK, 23 frames verified" in run_tether("burst", "verify", str(repaired), check=True).stdout
    assert sorted(p.name for p in folder.iterdir()) == ["k0-repaired.burst", "k0.burst"]
