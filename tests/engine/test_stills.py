"""What the panel shows of a still as it arrives: the EXIF of JPEGs and RAWs alike, and a preview of images only."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tether.camera.sim import render
from tether.camera.sim.dng import dng_bytes
from tether.camera.sim.exif import Exposure, with_exif
from tether.engine.stills import exif_summary, preview_jpeg
from tether.errors import NotFound

EXPOSURE = Exposure("1/125", "2.8", "200")
SHOWN = {"exposure": "1/125 s", "iso": "200", "aperture": "f/2.8"}


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    return render("macro", 300, (320, 240), f_number=2.8)


def test_a_jpeg_and_a_raw_still_show_the_same_exposure(picture: np.ndarray) -> None:
    jpeg = with_exif(cv2.imencode(".jpg", picture)[1].tobytes(), make="tether", model="sim", exposure=EXPOSURE,
                     taken=0.0)
    assert exif_summary(jpeg) == SHOWN
    assert exif_summary(dng_bytes(picture, make="tether", model="sim", exposure=EXPOSURE)) == SHOWN
    assert exif_summary(b"not an image") == {}


def test_a_raw_still_is_previewed_and_a_file_that_is_no_image_is_refused(picture: np.ndarray, tmp_path: Path) -> None:
    raw = tmp_path / "still.dng"
    raw.write_bytes(dng_bytes(picture, make="tether", model="sim", exposure=EXPOSURE))
    shown = cv2.imdecode(np.frombuffer(preview_jpeg(raw), np.uint8), cv2.IMREAD_COLOR)
    assert shown.shape == picture.shape and np.abs(shown.astype(int) - picture).mean() < 4
    movie = tmp_path / "sweep.mp4"
    movie.write_bytes(b"\0" * 1024)
    with pytest.raises(NotFound, match="cannot be previewed"):
        preview_jpeg(movie)
