"""Exports other tools read: a JPEG folder with EXIF/XMP, an H.264 MP4, a ZIP, one frame."""
from __future__ import annotations

import stat
import subprocess
import zipfile

import cv2
import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from tether.burst import BurstError, BurstWriter, FrameMeta, open_burst
from tether.burst.exports import export
from tether.fileio import write_atomic


def test_jpeg_folder_carries_exif_and_xmp_and_the_camera_pixels(make_burst, tmp_path):
    path, frames = make_burst(6)
    out = tmp_path / "for-zerene"
    with open_burst(path) as reader:
        result = export(reader, out)
    names = sorted(p.name for p in out.iterdir())
    assert result.frames == 6 and names == [f"b_{i:04d}.jpg" for i in range(1, 7)]
    for i, name in enumerate(names):
        with Image.open(out / name) as image:
            exif = image.getexif()
            assert f"tether frame {i + 1}: focus position {i * 7} steps" in exif[0x010E]  # ImageDescription
            assert exif[0x0110] == "Test Cam"
            comment = exif.get_ifd(0x8769)[0x9286]
            assert f"index={i};focus_position={i * 7}".encode() in comment
            xmp = image.info["xmp"].decode()
            assert f'tether:focusPosition="{i * 7}"' in xmp and f'tether:frameIndex="{i}"' in xmp
        # only header segments were added: the compressed image is the camera's, so pixels are identical
        original = cv2.imdecode(np.frombuffer(frames[i], np.uint8), cv2.IMREAD_COLOR)
        assert np.array_equal(cv2.imread(str(out / name)), original)
        assert (out / name).read_bytes().endswith(frames[i][frames[i].find(b"\xff\xdb"):])  # from the first DQT on


def test_a_still_with_camera_exif_keeps_it_and_gets_xmp(tmp_path):
    image = Image.new("RGB", (32, 24), (200, 10, 10))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Panasonic", "DC-G9"
    still = tmp_path / "still.jpg"
    image.save(still, exif=exif.tobytes())
    burst = tmp_path / "s.zip"
    with BurstWriter.create(burst, camera={"model": "DC-G9"}, sweep={}) as writer:
        writer.append(still.read_bytes(), FrameMeta(source="still", focus_position=33, filename="P1000001.JPG"))
    with open_burst(burst) as reader:
        export(reader, tmp_path / "one.jpg", frame=0)
    with Image.open(tmp_path / "one.jpg") as out:
        assert out.getexif()[0x0110] == "DC-G9" and out.getexif()[0x010F] == "Panasonic"
        assert 'tether:focusPosition="33"' in out.info["xmp"].decode()


def test_mp4_is_h264_with_the_right_frame_count_and_size(make_burst, tmp_path):
    path, _ = make_burst(9, width=130, height=75)
    movie = tmp_path / "sweep.mp4"
    with open_burst(path) as reader:
        result = export(reader, movie, fps=12)
    assert result.frames == 9
    capture = cv2.VideoCapture(str(movie))
    decoded = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        decoded.append(frame.shape)
    assert len(decoded) == 9 and set(decoded) == {(74, 130, 3)}  # odd height rounded down to even for yuv420p
    probe = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(movie)], capture_output=True, text=True
    )
    assert "Video: h264" in probe.stderr and "yuv420p" in probe.stderr


def test_mp4_progress_says_the_movie_is_being_finished_after_its_last_frame(make_burst, tmp_path):
    """The encoder's work after the last frame (seconds on a busy machine) is a phase of its own, reported
    while the movie is not yet there, not a progress stuck at every frame's 100 %."""
    path, _ = make_burst(4, width=64, height=48)
    movie = tmp_path / "sweep.mp4"
    calls = []
    with open_burst(path) as reader:
        export(reader, movie, progress=lambda done, total, *, phase="": calls.append((done, total, phase,
                                                                                      movie.exists())))
    assert calls == [(1, 4, "", False), (2, 4, "", False), (3, 4, "", False), (4, 4, "", False),
                     (4, 4, "finishing the movie", False)]
    assert movie.exists()


def test_mp4_width_option_scales_down(make_burst, tmp_path):
    path, _ = make_burst(3, width=128, height=96)
    with open_burst(path) as reader:
        export(reader, tmp_path / "small.mp4", width=64)
    capture = cv2.VideoCapture(str(tmp_path / "small.mp4"))
    ok, frame = capture.read()
    assert ok and frame.shape == (48, 64, 3)


def test_zip_export_and_no_overwrites(make_burst, tmp_path):
    path, _ = make_burst(3)
    target = tmp_path / "send.zip"
    with open_burst(path) as reader:
        export(reader, target)
        with zipfile.ZipFile(target) as archive:
            assert archive.namelist() == [f"b/b_{i:04d}.jpg" for i in range(1, 4)]
        before = target.read_bytes()
        with pytest.raises(BurstError, match="already exists"):
            export(reader, target)
        assert target.read_bytes() == before
        (tmp_path / "full").mkdir()
        (tmp_path / "full" / "keep.txt").write_text("mine")
        with pytest.raises(BurstError, match="not an empty folder"):
            export(reader, tmp_path / "full")
        with pytest.raises(BurstError, match="cannot export"):
            export(reader, tmp_path / "x.gif")
    assert not list(tmp_path.glob(".*.part*"))  # no temporaries left behind


def test_raw_frames_get_an_xmp_sidecar(tmp_path):
    burst = tmp_path / "raw.zip"
    raw = b"IIU\x00" + bytes(1000)
    with BurstWriter.create(burst, camera={"model": "DC-G9"}, sweep={}) as writer:
        writer.append(raw, FrameMeta(source="still", focus_position=5, filename="P1.RW2"))
    with open_burst(burst) as reader:
        export(reader, tmp_path / "out")
    assert (tmp_path / "out" / "raw_0001.rw2").read_bytes() == raw
    assert 'tether:focusPosition="5"' in (tmp_path / "out" / "raw_0001.xmp").read_text()


def test_exports_and_atomic_writes_are_readable_as_any_new_file_is(make_burst, tmp_path):
    """A service user writes them; the photographer's account must be able to open them, as it can a burst."""
    ordinary = tmp_path / "ordinary"
    ordinary.write_bytes(b"x")
    expected = stat.S_IMODE(ordinary.stat().st_mode)
    path, _ = make_burst(3)
    with open_burst(path) as reader:
        export(reader, exported := tmp_path / "send.zip")
    written = write_atomic(tmp_path / "still.jpg", b"\xff\xd8")
    assert {stat.S_IMODE(p.stat().st_mode) for p in (exported, written)} == {expected}
