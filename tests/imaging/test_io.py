"""Reading frames and writing results: depths kept, EXIF carried with a note, orientation consistent."""
from __future__ import annotations

import io
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from tether.errors import TetherError
from tether.imaging import ImageFiles, ImagingError, MismatchedFrames, UnreadableImage, encode_image, write_image
from tether.imaging.io import checked_size, read_image


def _jpeg_with_exif(path: Path, image: np.ndarray, **tags: int | str) -> Path:
    exif = Image.Exif()
    for tag, value in tags.items():
        exif[int(tag[1:], 16)] = value
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=95, exif=exif.tobytes())
    path.write_bytes(buf.getvalue())
    return path


def test_exif_is_carried_with_a_note_and_the_orientation_kept(tmp_path: Path) -> None:
    src = _jpeg_with_exif(tmp_path / "a.jpg", np.zeros((40, 60, 3), np.uint8), x010F="Panasonic", x0112=6)
    out = write_image(tmp_path / "out.jpg", np.zeros((40, 60, 3), np.uint8), exif_from=src.read_bytes(),
                      note="tether focus stack of 2 frames")
    with Image.open(out) as im:
        exif = im.getexif()
    assert exif[0x010F] == "Panasonic" and exif[0x0112] == 6
    assert exif[0x010E] == "tether focus stack of 2 frames" and exif[0x0131] == "tether"


def test_a_tiff_sources_pixel_layout_is_not_carried_as_exif(tmp_path: Path) -> None:
    """A multi-strip 16-bit TIFF's tags name its own strips and size; only the camera's tags travel."""
    buf = io.BytesIO()
    tiff = Image.fromarray(np.zeros((400, 300), np.uint16))
    exif = tiff.getexif()
    exif[0x010F] = "Panasonic"
    tiff.save(buf, "TIFF", exif=exif, compression="tiff_adobe_deflate")
    with Image.open(buf) as im:
        assert len(im.tag_v2[0x0111]) > 1  # several strips, as a 16-bit frame from a raw converter has
    out = write_image(tmp_path / "out.jpg", np.zeros((40, 60, 3), np.uint8), exif_from=buf.getvalue(), note="n")
    with Image.open(out) as im:
        written = im.getexif()
    assert written[0x010F] == "Panasonic"
    assert not {0x0100, 0x0101, 0x0111, 0x0117} & set(written)


def test_pixels_are_read_as_stored_at_every_scale(tmp_path: Path) -> None:
    src = _jpeg_with_exif(tmp_path / "r.jpg", np.zeros((40, 60, 3), np.uint8), x0112=6)  # "rotate 90"
    assert read_image(src).shape == (40, 60, 3)
    assert read_image(src, reduce=2).shape == (20, 30, 3)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_survives_png_and_tiff(tmp_path: Path, suffix: str) -> None:
    image = (np.arange(30 * 40 * 3, dtype=np.uint32).reshape(30, 40, 3) * 37 % 65536).astype(np.uint16)
    out = write_image(tmp_path / f"x{suffix}", image)
    assert np.array_equal(cv2.imread(str(out), cv2.IMREAD_UNCHANGED), image)


def test_16_bit_to_jpeg_becomes_8_bit() -> None:
    data = encode_image(np.full((8, 8, 3), 65535, np.uint16), ".jpg")
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED).max() == 255


def test_bad_files_and_formats_are_named(tmp_path: Path) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG but not really")
    with pytest.raises(UnreadableImage, match=r"junk\.png"):
        read_image(junk)
    with pytest.raises(UnreadableImage, match="no such file"):
        ImageFiles([tmp_path / "missing.jpg"])
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    cv2.imwrite(str(a), np.zeros((10, 12, 3), np.uint8))
    cv2.imwrite(str(b), np.zeros((12, 10, 3), np.uint8))
    with pytest.raises(MismatchedFrames, match="one size"):
        ImageFiles([a, b])
    with pytest.raises(ImagingError, match=r"\.jpg, \.png or \.tif"):
        encode_image(np.zeros((4, 4, 3), np.uint8), ".bmp")


def test_grey_and_alpha_inputs_become_bgr(tmp_path: Path) -> None:
    grey, rgba = tmp_path / "g.png", tmp_path / "a.png"
    cv2.imwrite(str(grey), np.full((6, 7), 9, np.uint8))
    cv2.imwrite(str(rgba), np.full((6, 7, 4), 9, np.uint8))
    files = ImageFiles([grey, rgba])
    assert files.read(0).shape == files.read(1).shape == (6, 7, 3)


@pytest.mark.parametrize("reduce", [1, 2, 4, 8])
def test_jpeg_frames_have_opencvs_pixels_at_every_scale(tmp_path: Path, reduce: int) -> None:
    rng = np.random.default_rng(1)
    image = cv2.GaussianBlur(rng.integers(0, 256, (61, 83, 3), dtype=np.uint8), (5, 5), 0)
    path = tmp_path / "f.jpg"
    cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    flags = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
             8: cv2.IMREAD_REDUCED_COLOR_8}[reduce]
    assert np.array_equal(read_image(path, reduce=reduce), cv2.imread(str(path), flags))


def test_a_damaged_jpeg_is_named(tmp_path: Path) -> None:
    data = cv2.imencode(".jpg", np.full((64, 64, 3), 100, np.uint8))[1].tobytes()
    path = tmp_path / "t.jpg"
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(UnreadableImage, match=r"t\.jpg"):
        read_image(path)


def test_an_encoder_failure_leaves_no_file_behind(tmp_path: Path) -> None:
    with pytest.raises(TetherError):  # JPEG stops at 65500 pixels a side; Pillow's encoder writes into the file
        write_image(tmp_path / "wide.jpg", np.zeros((2, 70000, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


#: Files opened while ``opened`` is being filled (by the interpreter's audit events, which Pillow's opens raise too).
opened: list[str] | None = None


def _note_open(event: str, args: tuple[object, ...]) -> None:
    if event == "open" and opened is not None and isinstance(args[0], str):
        opened.append(args[0])


sys.addaudithook(_note_open)  # for the rest of the process (hooks cannot be removed): it notes nothing but here


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif"])
def test_a_file_checked_before_an_import_is_opened_once(tmp_path: Path, suffix: str) -> None:
    global opened
    path = tmp_path / f"frame{suffix}"
    cv2.imwrite(str(path), np.full((24, 32, 3), 100, np.uint8))
    opened = []
    try:
        assert checked_size(path) == (24, 32)
        assert opened.count(str(path)) == 1, opened
    finally:
        opened = None
