"""Importing a folder of stack images, and adding derived data to a closed burst safely."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import zipfile

import cv2
import numpy as np
import pytest

from tether.burst import BurstBusy, BurstError, BurstWriter, FrameMeta, open_burst, store_derived, store_derived_items
from tether.burst.importer import import_images
from tether.imaging.io import check_frame_files


def _stack(folder, names):
    folder.mkdir()
    for k, name in enumerate(names):
        cv2.imwrite(str(folder / name), np.full((20, 30, 3), 10 * k, np.uint8))
    return folder


def test_import_orders_by_name_naturally(tmp_path):
    folder = _stack(tmp_path / "stack", ["DSC_10.jpg", "DSC_9.jpg", "DSC_100.jpg", "DSC_1.JPG"])
    (folder / ".DS_Store").write_bytes(b"junk")  # hidden files are not part of a stack
    out = import_images([folder], tmp_path / "imported.zip", check_frames=check_frame_files)
    with open_burst(out) as reader:
        assert [m.filename for m in reader.frames_meta()] == ["DSC_1.JPG", "DSC_9.jpg", "DSC_10.jpg", "DSC_100.jpg"]
        assert [m.focus_position for m in reader.frames_meta()] == [0, 1, 2, 3]
        assert reader.frame_bytes(2) == (folder / "DSC_10.jpg").read_bytes()
        assert reader.manifest["sweep"]["mode"] == "imported" and reader.verify() == []


@pytest.mark.parametrize("bad, message", [
    ("notes.txt", "not an image file"),
    ("fake.jpg", "contents are not a JPEG image"),
])
def test_import_refuses_non_images_and_writes_nothing(tmp_path, bad, message):
    folder = _stack(tmp_path / "stack", ["a.jpg", "b.jpg"])
    (folder / bad).write_text("hello")
    out = tmp_path / "x.zip"
    with pytest.raises(BurstError, match=message) as info:
        import_images([folder], out, check_frames=check_frame_files)
    assert bad in str(info.value)
    assert not out.exists()


def test_store_derived_adds_and_replaces_without_touching_frames(make_burst):
    path, frames = make_burst(4)
    store_derived(path, "depth.png", b"first")
    store_derived(path, "sharpness.json", b"[0.1, 0.9]")
    index = np.arange(12, dtype=np.uint16).reshape(3, 4)
    import io
    buf = io.BytesIO()
    np.save(buf, index)
    store_derived(path, "index.npy", buf.getvalue())
    store_derived(path, "depth.png", b"second")
    with open_burst(path) as reader:
        assert reader.derived_names() == ["depth.png", "index.npy", "sharpness.json"]
        assert reader.derived("depth.png") == b"second"
        assert np.array_equal(np.load(io.BytesIO(reader.derived("index.npy"))), index)
        assert [reader.frame_bytes(i) for i in range(4)] == frames
        assert reader.verify() == [] and not reader.recovered
        info = reader.manifest["derived"]["depth.png"]
        assert info["sha256"] == hashlib.sha256(b"second").hexdigest() and info["entry"] == "derived/depth.png"
        with pytest.raises(BurstError, match="no derived data named 'nope'"):
            reader.derived("nope")
    with zipfile.ZipFile(path) as archive:  # other tools see exactly one of each
        assert archive.testzip() is None
        assert sorted(n for n in archive.namelist() if n.startswith("derived/")) == \
            ["derived/depth.png", "derived/index.npy", "derived/sharpness.json"]
        assert archive.read("derived/depth.png") == b"second"


def test_writer_can_add_derived_data_before_close(tmp_path, make_jpeg):
    path = tmp_path / "w.zip"
    with BurstWriter.create(path, camera={}, sweep={}) as writer:
        writer.append(make_jpeg(0), FrameMeta())
        writer.add_derived("sharpness.json", b"[1]")
    with open_burst(path) as reader:
        assert reader.derived("sharpness.json") == b"[1]"


def test_store_derived_refuses_a_burst_still_being_written(tmp_path, make_jpeg):
    path = tmp_path / "live.zip"
    with BurstWriter.create(path, camera={}, sweep={}) as writer:
        writer.append(make_jpeg(0), FrameMeta())
        with pytest.raises(BurstBusy, match="still being written"):
            store_derived(path, "depth.png", b"x")
    with pytest.raises(BurstError, match="repair"):
        crashed = tmp_path / "crashed.zip"
        crashed.write_bytes(path.read_bytes()[:-200])
        store_derived(crashed, "depth.png", b"x")


@pytest.mark.slow
def test_a_kill_during_store_derived_loses_no_frame(make_burst):
    """Kill the process that is appending a large derived item at several points: frames always survive."""
    path, frames = make_burst(3)
    size0 = os.path.getsize(path)
    child = textwrap.dedent("""
        import sys
        from tether.burst import store_derived
        print("go", flush=True)
        store_derived(sys.argv[1], "big.bin", bytes(60_000_000))
    """)
    for delay in (0.05, 0.15, 0.3):
        copy = path.with_name(f"k{delay}.zip")
        copy.write_bytes(path.read_bytes())
        proc = subprocess.Popen([sys.executable, "-c", child, str(copy)], stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()
        import time
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert os.path.getsize(copy) >= size0
        with open_burst(copy) as reader:
            assert [reader.frame_bytes(i) for i in range(3)] == frames


STORE_CHILD = textwrap.dedent("""
    import resource, sys
    from tether.burst import store_derived_items
    from tether.errors import TetherError
    limit = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        store_derived_items(sys.argv[1], {"depth.png": bytes(5000), "layer.json": bytes(5000)})
        print("stored")
    except TetherError as exc:
        print("ERROR", exc)
""")


def test_disk_full_during_store_derived_leaves_the_burst_exactly_as_it_was(make_burst, tmp_path):
    """Items stored together (a stack and its retouch layer) are all kept or, the disk full, none is."""
    path, _ = make_burst(3)
    original = path.read_bytes()
    probe = tmp_path / "probe.zip"
    probe.write_bytes(original)
    store_derived_items(probe, {"depth.png": bytes(5000), "layer.json": bytes(5000)})
    with open_burst(probe) as reader:
        assert reader.derived_names() == ["depth.png", "layer.json"]
    grown = os.path.getsize(probe)
    # fails in the first item, in the second, then in the final directory
    for limit in (len(original) + 100, len(original) + 6000, grown - 5):
        result = subprocess.run([sys.executable, "-c", STORE_CHILD, str(path), str(limit)],
                                capture_output=True, text=True, timeout=60)
        assert "ERROR" in result.stdout and "disk is full" in result.stdout, result.stdout + result.stderr
        assert path.read_bytes() == original
    with open_burst(path) as reader:
        assert not reader.recovered and reader.derived_names() == [] and reader.verify() == []
