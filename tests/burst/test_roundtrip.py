"""Writing and reading back a burst: every byte and every metadata field survives, and any unzip tool opens it."""
from __future__ import annotations

import shutil
import subprocess
import zipfile

import numpy as np
import pytest

from tether.burst import BurstError, BurstWriter, FrameMeta, open_burst
from tether.burst.format import FORMAT_VERSION_TEXT

CAMERA = {"model": "Test Cam", "serial": "T-1", "lens": "30mm macro", "id": "sim"}
SWEEP = {"range": [0, 400], "step_plan": "small x 2", "mode": "post-focus"}


def test_200_frames_round_trip(tmp_path, make_jpeg):
    path = tmp_path / "sweep.zip"
    frames = [make_jpeg(i) for i in range(200)]
    metas = []
    with BurstWriter.create(path, camera=CAMERA, sweep=SWEEP) as writer:
        for i, data in enumerate(frames):
            meta = FrameMeta(captured_at=1_700_000_000 + i * 0.04, focus_position=2 * i, step_class="small",
                             source="liveview" if i % 2 else "still", exposure={"iso": 100 + i, "shutter": "1/125"},
                             corrupt=(i == 7), extra={"n": i})
            assert writer.append(data, meta) == i
            metas.append(meta)
        assert writer.frame_count == 200
        writer.close({"sharpest": 42})

    with open_burst(path) as reader:
        assert not reader.recovered
        assert reader.frame_count == 200
        assert reader.manifest["version"] == FORMAT_VERSION_TEXT
        assert reader.manifest["camera"] == CAMERA and reader.manifest["sweep"] == SWEEP
        assert reader.manifest["summary"] == {"sharpest": 42}
        assert reader.manifest["status"] == "complete"
        for i in (0, 7, 199, 123, 1):  # random access, not in order
            assert reader.frame_bytes(i) == frames[i]
            got, want = reader.meta(i), metas[i]
            assert (got.index, got.focus_position, got.source, got.exposure, got.corrupt, got.extra) == \
                   (i, want.focus_position, want.source, want.exposure, want.corrupt, want.extra)
            assert got.captured_at == pytest.approx(want.captured_at)
            assert (got.width, got.height, got.mime) == (64, 48, "image/jpeg")
        assert [m.index for m in reader.frames_meta()] == list(range(200))
        assert reader.verify() == []
        full = reader.frame_image(3)
        assert full.shape == (48, 64, 3) and full.dtype == np.uint8
        assert reader.frame_image(3, reduce=2).shape == (24, 32, 3)
        assert reader.frame_image(3, reduce=4).shape == (12, 16, 3)
        with pytest.raises(BurstError, match="reduce"):
            reader.frame_image(3, reduce=3)
        with pytest.raises(BurstError, match=r"no frame index 200 \(the burst has 200 frames\)"):
            reader.frame_bytes(200)

    with zipfile.ZipFile(path) as archive:  # a standard ZIP reader agrees, byte for byte
        assert archive.testzip() is None
        assert archive.read("frames/000123.jpg") == frames[123]
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())


@pytest.mark.skipif(shutil.which("unzip") is None, reason="Info-ZIP unzip is not installed here")
def test_unzip_tool_opens_a_closed_burst(make_burst, tmp_path):
    path, frames = make_burst(3)
    result = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "unzipped"
    subprocess.run(["unzip", "-q", str(path), "-d", str(out)], check=True)
    assert (out / "frames" / "000002.jpg").read_bytes() == frames[2]
    assert (out / "manifest.json").exists()


def test_never_overwrites_an_existing_burst(make_burst):
    path, _ = make_burst(2)
    before = path.read_bytes()
    with pytest.raises(BurstError, match="already exists"):
        BurstWriter.create(path, camera={}, sweep={})
    assert path.read_bytes() == before


def test_an_exception_inside_the_with_block_still_closes_a_valid_burst(tmp_path, make_jpeg):
    path = tmp_path / "cancelled.zip"
    with pytest.raises(RuntimeError), BurstWriter.create(path, camera=CAMERA, sweep=SWEEP) as writer:
        writer.append(make_jpeg(0), FrameMeta(focus_position=1))
        writer.append(make_jpeg(1), FrameMeta(focus_position=2))
        raise RuntimeError("cable pulled")
    with open_burst(path) as reader:
        assert not reader.recovered and reader.frame_count == 2
        assert reader.manifest["status"] == "interrupted"
        assert "cable pulled" in reader.manifest["error"]


def test_bad_metadata_is_refused_before_anything_is_written(tmp_path, make_jpeg):
    path = tmp_path / "b.zip"
    with BurstWriter.create(path, camera=CAMERA, sweep=SWEEP) as writer:
        with pytest.raises(BurstError, match="source"):
            writer.append(make_jpeg(0), FrameMeta(source="telepathy"))
        with pytest.raises(BurstError, match="focus_position"):
            writer.append(make_jpeg(0), FrameMeta(focus_position=1.5))  # type: ignore[arg-type]
        with pytest.raises(BurstError, match="JSON"):
            writer.append(make_jpeg(0), FrameMeta(exposure={"bad": object()}))
        assert writer.append(make_jpeg(0), FrameMeta()) == 0
    with open_burst(path) as reader:
        assert reader.frame_count == 1 and reader.verify() == []
    with pytest.raises(BurstError, match="JSON"):
        BurstWriter.create(tmp_path / "c.zip", camera={"x": {1, 2}}, sweep={})
    assert not (tmp_path / "c.zip").exists()


def test_raw_frames_keep_their_extension(tmp_path, make_jpeg):
    path = tmp_path / "raw.zip"
    raw = b"IIU\x00" + bytes(range(256)) * 10
    with BurstWriter.create(path, camera=CAMERA, sweep=SWEEP) as writer:
        writer.append(raw, FrameMeta(source="still", filename="P1000123.RW2"))
    with open_burst(path) as reader:
        assert reader.frame_name(0) == "frames/000000.rw2"
        assert reader.meta(0).mime == "image/x-panasonic-rw2"
        assert reader.frame_bytes(0) == raw
        with pytest.raises(BurstError, match="cannot be decoded"):
            reader.frame_image(0)


def test_a_burst_can_be_read_while_it_is_being_written(tmp_path, make_jpeg):
    """The gallery may open a burst mid-sweep: it sees every frame appended so far, read-only."""
    path = tmp_path / "live.zip"
    with BurstWriter.create(path, camera=CAMERA, sweep=SWEEP) as writer:
        for i in range(3):
            writer.append(make_jpeg(i), FrameMeta(focus_position=i))
        with open_burst(path) as reader:
            assert reader.recovered and reader.frame_count == 3
            assert reader.frame_bytes(2) == make_jpeg(2)
            assert reader.meta(1).sha256 and reader.manifest["status"] == "unclosed"
        writer.append(make_jpeg(3), FrameMeta(focus_position=3))
    with open_burst(path) as reader:
        assert not reader.recovered and reader.frame_count == 4 and reader.verify() == []


def test_frame_data_must_be_bytes(tmp_path):
    with BurstWriter.create(tmp_path / "b.zip", camera={}, sweep={}) as writer:
        with pytest.raises(BurstError, match="must be bytes"):
            writer.append("not bytes", FrameMeta())  # type: ignore[arg-type]
        assert writer.append(b"", FrameMeta(corrupt=True)) == 0  # an empty frame from the camera is kept
    with open_burst(tmp_path / "b.zip") as reader:
        assert reader.frame_bytes(0) == b"" and reader.meta(0).corrupt


def test_a_summary_that_is_not_json_leaves_the_writer_open(tmp_path, make_jpeg):
    path = tmp_path / "b.zip"
    with BurstWriter.create(path, camera={}, sweep={}) as writer:
        writer.append(make_jpeg(0), FrameMeta())
        with pytest.raises(BurstError, match="summary"):
            writer.close({"when": object()})
        assert not writer.closed
        writer.close({"ok": True})
    with open_burst(path) as reader:
        assert reader.manifest["summary"] == {"ok": True} and not reader.recovered
