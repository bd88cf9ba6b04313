"""The movie formats cameras record decode into the same frames: H.264 and H.265 in MP4 and MOV, Motion-JPEG
in AVI, 8 and 10 bit (issue 14). The clips are made here with the ffmpeg that imageio-ffmpeg ships."""
from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pytest

from tether.capture.modes.movie import decoded

FORMATS = {
    "h264.mp4": ["-c:v", "libx264", "-pix_fmt", "yuv420p"],
    "h264.mov": ["-c:v", "libx264", "-pix_fmt", "yuv420p"],
    "h265.mp4": ["-c:v", "libx265", "-pix_fmt", "yuv420p", "-tag:v", "hvc1"],
    "h264-10bit.mp4": ["-c:v", "libx264", "-pix_fmt", "yuv420p10le"],
    "h265-10bit.mov": ["-c:v", "libx265", "-pix_fmt", "yuv420p10le"],
    "mjpeg.avi": ["-c:v", "mjpeg", "-q:v", "2"],
}
FRAMES, SIZE = 12, (320, 180)


def record(path: Path, codec: list[str]) -> Path:
    """A 12-frame 30 fps test pattern in ``path``'s format: ffmpeg's testsrc2 (moving shapes, a counter), every
    sixth frame of it, so that neighbouring frames differ far more than codecs do."""
    pattern = f"testsrc2=size={SIZE[0]}x{SIZE[1]}:rate=30,select=not(mod(n\\,6)),setpts=N/30/TB"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", pattern, "-r", "30",
                    "-frames:v", str(FRAMES), *codec, "-y", str(path)], check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    """The frames of the Motion-JPEG clip at high quality, reduced: what every other format should show."""
    path = record(tmp_path_factory.mktemp("movie") / "reference.avi", ["-c:v", "mjpeg", "-q:v", "1"])
    return [_reduced(bgr) for _, _, bgr in decoded(str(path))]


def _reduced(bgr: np.ndarray) -> np.ndarray:
    """A quarter size: codec noise averages out, the pattern's motion stays."""
    return cv2.resize(bgr, (SIZE[0] // 4, SIZE[1] // 4), interpolation=cv2.INTER_AREA).astype(np.float32)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_decodes_to_the_same_frames(name: str, tmp_path: Path, reference: list[np.ndarray]) -> None:
    frames = list(decoded(str(record(tmp_path / name, FORMATS[name]))))
    assert len(frames) == FRAMES
    for fps, grey, bgr in frames:
        assert fps == pytest.approx(30.0) and bgr.dtype == np.uint8 and grey.shape == (SIZE[1], SIZE[0])
        assert bgr.shape == (SIZE[1], SIZE[0], 3)
    # the same picture, frame for frame: each is nearest the reference frame of its own index (measured: within
    # 3 grey levels of it, 17 or more from every other)
    distance = np.array([[np.abs(_reduced(bgr) - ref).mean() for ref in reference] for _, _, bgr in frames])
    assert list(distance.argmin(axis=1)) == list(range(FRAMES)) and distance.diagonal().max() < 6, distance.round(1)
