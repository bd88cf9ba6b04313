"""Merging an extra sweep into a burst: frames in focus order, old derived data gone, and after kill -9 at
any moment either the old burst or the merged one, every frame readable."""
from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.burst.conftest import CAMERA, SWEEP, jpeg
from tether.burst import BurstBusy, BurstWriter, FrameMeta, open_burst, store_derived
from tether.burst.merge import merge_into, merging_path


def write(path, positions, *, first=0, sweep=SWEEP):  # type: ignore[no-untyped-def]
    frames = {}
    with BurstWriter.create(path, camera=CAMERA, sweep=sweep, fsync=False) as writer:
        for k, position in enumerate(positions):
            frames[position] = jpeg(first + k)
            writer.append(frames[position], FrameMeta(captured_at=1_700_000_000 + k, focus_position=position))
    return frames


def test_frames_of_both_bursts_in_focus_order_and_old_derived_data_dropped(tmp_path):
    base, extra = tmp_path / "b.burst", tmp_path / "x.burst"
    frames = write(base, [20, 30, 40]) | write(extra, [50, 0, 10, 60], first=10, sweep={"mode": "extra"})
    store_derived(base, "focus-index.npz", b"stale")
    assert merge_into(base, extra, summary={"warnings": []}, derived={"sharpness.json": b"{}"}) == 7
    with open_burst(base) as reader:
        assert [m.focus_position for m in reader.frames_meta()] == [0, 10, 20, 30, 40, 50, 60]
        assert [m.index for m in reader.frames_meta()] == list(range(7))
        assert all(reader.frame_bytes(i) == frames[m.focus_position] for i, m in enumerate(reader.frames_meta()))
        assert reader.derived_names() == ["sharpness.json"]
        assert reader.manifest["summary"] == {"warnings": []} and reader.manifest["status"] == "complete"
        assert reader.manifest["sweep"]["merged"] == [{"mode": "extra"}]
        assert not reader.verify()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.burst", "x.burst"]


def test_a_burst_being_written_is_not_merged(tmp_path):
    write(tmp_path / "x.burst", [1])
    with BurstWriter.create(tmp_path / "b.burst", camera=CAMERA, sweep=SWEEP) as writer:
        writer.append(jpeg(0), FrameMeta(focus_position=0))
        with pytest.raises(BurstBusy):
            merge_into(tmp_path / "b.burst", tmp_path / "x.burst", summary={})


CHILD = textwrap.dedent("""
    import sys
    from tether.burst.merge import merge_into
    print("start", flush=True)
    merge_into(sys.argv[1], sys.argv[2], summary={})
    print("merged", flush=True)
""")


@pytest.mark.slow
def test_kill_9_during_a_merge_leaves_the_old_burst_or_the_merged_one(tmp_path):
    rng = random.Random(18)
    old_positions, extra_positions = list(range(0, 400, 2)), list(range(1, 400, 2))
    for trial in range(5):
        base, extra = tmp_path / f"b{trial}.burst", tmp_path / f"x{trial}.burst"
        write(base, old_positions)
        write(extra, extra_positions, first=400)
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(base), str(extra)], stdout=subprocess.PIPE,
                                 text=True)
        assert child.stdout.readline().strip() == "start"
        time.sleep(rng.random() * 0.1)
        child.send_signal(signal.SIGKILL)
        child.communicate()
        with open_burst(base) as reader:
            positions = [m.focus_position for m in reader.frames_meta()]
            assert not reader.recovered and not reader.verify()
        assert positions in (old_positions, sorted(old_positions + extra_positions))
        if merging_path(base).exists():  # killed mid-write: the next merge starts afresh
            merge_into(base, extra, summary={})
            with open_burst(base) as reader:
                assert [m.focus_position for m in reader.frames_meta()] == list(range(400))
            assert not merging_path(base).exists()
