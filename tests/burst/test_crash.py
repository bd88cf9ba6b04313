"""A writer killed with SIGKILL, or stopped by a full disk, never loses a frame whose append returned."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tether.burst import open_burst, store_derived
from tether.burst.recovery import repair, repaired_path

# Shared by the child writer and the checking parent: frame i's bytes, varied in size.
FRAME_SOURCE = textwrap.dedent("""
    import random
    def frame(i):
        rng = random.Random(i)
        return b"\\xff\\xd8\\xff\\xe0" + rng.randbytes(rng.randrange(500, 120_000))
""")
namespace: dict = {}
exec(FRAME_SOURCE, namespace)
frame = namespace["frame"]

CHILD = FRAME_SOURCE + textwrap.dedent("""
    import sys
    from tether.burst import BurstWriter, FrameMeta
    path, count = sys.argv[1], int(sys.argv[2])
    with BurstWriter.create(path, camera={"model": "kill test"}, sweep={"mode": "test"}) as writer:
        for i in range(count):
            writer.append(frame(i), FrameMeta(focus_position=i, corrupt=True))
            print(i, flush=True)  # only after append returned
    print("closed", flush=True)
""")


@pytest.mark.slow
def test_sigkill_at_random_points_loses_no_returned_frame(tmp_path):
    rng = random.Random(20261129)
    checked_frames = 0
    for trial in range(20):
        path = tmp_path / f"kill{trial}.zip"
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), "400"], stdout=subprocess.PIPE, text=True)
        want_lines = rng.randrange(0, 60)
        returned: list[int] = []
        while len(returned) < want_lines:
            line = child.stdout.readline()
            if not line or line.startswith("closed"):
                break
            returned.append(int(line))
        time.sleep(rng.random() * 0.02)  # land somewhere inside the next append
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate()
        returned += [int(x) for x in rest.split() if x.isdigit()]  # printed before the kill landed
        if not returned:
            continue  # killed before the first append returned: nothing was promised
        with open_burst(path) as reader:
            have = {m.index: pos for pos, m in enumerate(reader.frames_meta())}
            for i in returned:
                assert i in have, f"trial {trial}: frame {i} was lost ({reader.problems})"
                assert reader.frame_bytes(have[i]) == frame(i)
                assert reader.meta(have[i]).focus_position == i
            checked_frames += len(returned)
            assert reader.frame_count in (len(returned), len(returned) + 1)  # at most the one in flight extra
        report = repair(path)
        if report.output is not None:
            with open_burst(report.output) as fixed:
                assert not fixed.recovered and fixed.verify() == []
                assert fixed.frame_count >= len(returned)
    assert checked_frames > 100


DISK_FULL_CHILD = FRAME_SOURCE + textwrap.dedent("""
    import resource, sys
    from tether.burst import BurstWriter, FrameMeta
    from tether.errors import TetherError
    limit = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # the file may grow no further than this
    try:
        with BurstWriter.create(sys.argv[1], camera={"model": "full"}, sweep={}) as writer:
            for i in range(1000):
                writer.append(frame(i), FrameMeta(focus_position=i))
                print(i, flush=True)
    except TetherError as exc:
        print("ERROR", exc, flush=True)
""")


@pytest.mark.parametrize("limit", [300_000, 1_000_000, 1_234_567])
def test_disk_full_gives_a_clear_error_and_keeps_earlier_frames(tmp_path, limit):
    path = tmp_path / "full.zip"
    result = subprocess.run([sys.executable, "-c", DISK_FULL_CHILD, str(path), str(limit)],
                            capture_output=True, text=True, timeout=60)
    lines = result.stdout.splitlines()
    errors = [line for line in lines if line.startswith("ERROR")]
    assert result.returncode == 0, result.stderr
    assert errors and "disk is full" in errors[0] and str(path) in errors[0], result.stdout
    returned = [int(line) for line in lines if line.isdigit()]
    assert returned, "the limit should allow a few frames"
    assert os.path.getsize(path) <= limit
    with open_burst(path) as reader:
        assert reader.frame_count == len(returned)
        for i in returned:
            assert reader.frame_bytes(i) == frame(i)
        assert reader.verify() == [] or reader.recovered


def test_a_never_closed_burst_opens_read_only_and_repairs_beside_it(make_burst, tmp_path):
    path, frames = make_burst(6)
    data = path.read_bytes()
    crashed = tmp_path / "crashed.zip"
    # Simulate a crash in the middle of frame 5's write: keep frame 0..4 and half of frame 5
    frame5 = data.find(b"frames/000005.jpg")
    crashed.write_bytes(data[:frame5 + 200])
    with open_burst(crashed) as reader:
        assert reader.recovered
        assert reader.frame_count == 5
        assert [reader.frame_bytes(i) for i in range(5)] == frames[:5]
        assert reader.manifest["camera"]["model"] == "Test Cam"
        assert any("in flight" in p for p in reader.problems)
    before = crashed.read_bytes()
    report = repair(crashed)
    assert crashed.read_bytes() == before  # never in place
    assert report.output == tmp_path / "crashed-repaired.zip"
    assert report.kept == 5 and any(d.startswith("frame 6: ") for d in report.dropped)  # frame 5, counted from 1
    with open_burst(report.output) as fixed:
        assert not fixed.recovered and fixed.verify() == [] and fixed.frame_count == 5
        assert fixed.manifest["status"] == "repaired"
    with pytest.raises(Exception, match="already exists"):
        repair(crashed)
    assert repair(report.output).output is None  # an intact burst needs nothing


TIGHT_CHILD = FRAME_SOURCE + textwrap.dedent("""
    import os, resource, sys
    from tether.burst import BurstWriter, FrameMeta
    from tether.errors import TetherError
    path = sys.argv[1]
    try:
        with BurstWriter.create(path, camera={"model": "full"}, sweep={}) as writer:
            for i in range(3):
                writer.append(frame(i), FrameMeta(focus_position=i))
                print(i, flush=True)
            limit = os.path.getsize(path) + 60  # not even room for the manifest
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
            writer.append(frame(3), FrameMeta(focus_position=3))
    except TetherError as exc:
        print("ERROR", exc, flush=True)
""")


def test_disk_full_even_for_the_manifest_leaves_a_recoverable_burst(tmp_path):
    path = tmp_path / "tight.zip"
    result = subprocess.run([sys.executable, "-c", TIGHT_CHILD, str(path)], capture_output=True, text=True, timeout=60)
    assert "ERROR" in result.stdout and "disk is full" in result.stdout, result.stdout + result.stderr
    assert "run 'tether burst repair'" in result.stderr  # the failed close is logged, the first error propagates
    with open_burst(path) as reader:
        assert reader.recovered and reader.frame_count == 3
        assert [reader.frame_bytes(i) for i in range(3)] == [frame(i) for i in range(3)]


def test_repair_drops_a_damaged_frame_and_keeps_the_rest(make_burst, tmp_path):
    path, frames = make_burst(5)
    store_derived(path, "sharpness.json", b"[1, 2]")
    data = bytearray(path.read_bytes())
    data[data.find(frames[3]) + 100] ^= 0x10
    path.write_bytes(bytes(data))
    report = repair(path, tmp_path / "fixed.zip")
    assert report.kept == 4 and report.dropped == ["frame 4: frames/000003.jpg is damaged (checksum mismatch)"]
    with open_burst(tmp_path / "fixed.zip") as fixed:
        assert [m.index for m in fixed.frames_meta()] == [0, 1, 2, 4]  # original indices kept
        assert fixed.frame_bytes(3) == frames[4] and fixed.verify() == []
        assert fixed.derived("sharpness.json") == b"[1, 2]"
        assert fixed.manifest["summary"]["dropped"] == report.dropped


def test_repair_refuses_a_burst_still_being_written(tmp_path):
    from tether.burst import BurstBusy, BurstWriter, FrameMeta

    path = tmp_path / "live.zip"
    with BurstWriter.create(path, camera={}, sweep={}) as writer:
        writer.append(frame(0), FrameMeta())
        with pytest.raises(BurstBusy, match="still being written"):
            repair(path)
    assert not (tmp_path / "live-repaired.zip").exists()


@pytest.mark.parametrize(("name", "repaired"), [
    ("sweep.zip", "sweep-repaired.zip"),
    ("20261129-061400-sim-macro.burst", "20261129-061400-sim-macro-repaired.burst"),  # stays in the gallery
    ("frames", "frames-repaired.zip"),
])
def test_repair_names_the_copy_beside_the_original(tmp_path: Path, name: str, repaired: str) -> None:
    assert repaired_path(tmp_path / name) == tmp_path / repaired


def test_a_burst_being_written_reads_right_each_time_it_is_opened(tmp_path: Path) -> None:
    # the panel opens a sweep's burst for every frame it shows; later opens go on from where the last scan
    # of the file got to, and must see every frame added since, and only the bytes the file holds now
    from tether.burst import BurstWriter, FrameMeta

    path = tmp_path / "open.burst"
    writer = BurstWriter.create(path, camera={}, sweep={})
    seen = []
    for k in range(6):
        writer.append(bytes([k]) * (1000 + k), FrameMeta(focus_position=k, width=4, height=3))
        with open_burst(path) as reader:
            assert reader.recovered and reader.frame_count == k + 1
            seen.append([reader.frame_bytes(i) for i in range(reader.frame_count)])
    assert seen[-1] == [bytes([k]) * (1000 + k) for k in range(6)]
    writer.close({}, status="complete")
    # the same file (same inode) rewritten with other frames at the same offsets: nothing is taken from before
    other = tmp_path / "other.burst"
    again = BurstWriter.create(other, camera={}, sweep={})
    for k in range(3):
        again.append(bytes([200 + k]) * (1000 + k), FrameMeta(focus_position=k, width=4, height=3))
    with open(path, "r+b") as target:
        target.truncate(0)
        target.write(other.read_bytes())
    with open_burst(path) as reader:
        assert reader.frame_count == 3
        assert [reader.frame_bytes(i) for i in range(3)] == [bytes([200 + k]) * (1000 + k) for k in range(3)]
    again.close({}, status="complete")
