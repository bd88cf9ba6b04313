"""RAW from the camera to the file: the simulated camera's DNG stills, decoded with LibRaw, stacked in 16 bits
into a TIFF that carries the frames' EXIF and an sRGB ICC profile."""
from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
import rawpy
from PIL import Image, ImageCms

from tether.burst import open_burst
from tether.camera.ids import parse_camera_id
from tether.camera.sim import SimCamera, render
from tether.camera.sim.dng import dng_bytes
from tether.camera.sim.exif import Exposure
from tether.capture import SweepOptions, run_sweep
from tether.config import Settings
from tether.imaging.errors import UnreadableImage
from tether.imaging.io import read_image

SIZE = (160, 120)
EXIF_IFD, ISO, F_NUMBER, EXPOSURE_TIME = 0x8769, 0x8827, 0x829D, 0x829A


def raw_camera() -> SimCamera:
    settings = Settings().with_overrides({"sim": {"still_width": SIZE[0], "still_height": SIZE[1],
                                                  "focus_step_ms": 0.2, "liveview_width": 320,
                                                  "liveview_height": 180, "liveview_fps": 120.0}})
    camera = SimCamera(parse_camera_id("sim:macro"), settings.sim)
    camera.open()
    camera.set_setting("imageformat", "RAW")
    camera.set_setting("iso", "400")
    return camera


def develop(data: bytes) -> np.ndarray:
    """A DNG developed the way a raw converter exports 16-bit sRGB, straight through rawpy: (H, W, 3) RGB."""
    with rawpy.imread(io.BytesIO(data)) as raw:
        return raw.postprocess(gamma=(2.4, 12.92), no_auto_bright=True, adjust_maximum_thr=0.0, output_bps=16,
                               use_camera_wb=True, output_color=rawpy.ColorSpace.sRGB, user_flip=0)


def test_the_simulated_camera_delivers_a_dng_that_libraw_develops_to_the_rendered_picture() -> None:
    picture = render("macro", 400, SIZE, f_number=5.6)
    rgb = develop(dng_bytes(picture, make="tether", model="sim", exposure=Exposure("1/60", "5.6", "800")))
    assert rgb.dtype == np.uint16 and rgb.shape == (SIZE[1], SIZE[0], 3)
    # linear 16-bit in the file, sRGB-encoded 16-bit out: the 8-bit picture times 257, give or take the curves' rounding
    assert np.abs(rgb.astype(np.int32) - picture[:, :, ::-1].astype(np.int32) * 257).max() <= 8

    still = raw_camera().capture_still()
    assert (still.name, still.mime) == ("SIM_0001.DNG", "image/x-adobe-dng")
    exif = Image.Exif()
    exif.load(still.data)
    assert exif.get_ifd(EXIF_IFD)[ISO] == 400 and exif[0x0110] == "tether simulated camera (macro)"
    assert develop(still.data).shape == (SIZE[1], SIZE[0], 3)


def test_a_raw_stills_sweep_keeps_the_dngs_and_stacks_to_a_16_bit_tiff_with_exif_and_icc(
        run_tether, tmp_path: Path) -> None:
    camera = raw_camera()
    burst = tmp_path / "raw.burst"
    run_sweep(camera, SweepOptions(mode="stills", range=(200, 600), frames=4), burst)
    with open_burst(burst) as reader:
        names = [reader.frame_name(i) for i in range(reader.frame_count)]
        first = reader.frame_bytes(0)
    assert len(names) == 4 and all(name.endswith(".dng") for name in names)
    assert develop(first).shape == (SIZE[1], SIZE[0], 3)  # the camera's bytes, unchanged

    out = tmp_path / "stack.tif"
    result = run_tether("stack", str(burst), "--out", str(out), check=True)
    assert "16-bit" in result.stdout
    stacked = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert stacked.dtype == np.uint16 and stacked.shape == (SIZE[1], SIZE[0], 3)
    with Image.open(out) as im:
        exif, icc = im.getexif(), im.info["icc_profile"]
        taken = exif.get_ifd(EXIF_IFD)
    assert (taken[ISO], float(taken[F_NUMBER]), float(taken[EXPOSURE_TIME])) == (400, 2.8, 1 / 125)
    assert exif[0x010F] == "tether" and "focus stack" in exif[0x010E]
    assert "sRGB" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))

    # refocus writes the chosen frame developed, 16 bits, with the camera's EXIF
    run_tether("refocus", str(burst), "--at", "80,60", "--out", str(tmp_path / "sharp.tif"), check=True)
    assert cv2.imread(str(tmp_path / "sharp.tif"), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    with Image.open(tmp_path / "sharp.tif") as im:
        assert im.getexif().get_ifd(EXIF_IFD)[ISO] == 400

    refused = run_tether("burst", "export", str(burst), "--frame", "1", "--to", str(tmp_path / "f.jpg"))
    assert refused.returncode != 0 and "frame 1 is a .dng file from the camera" in refused.stderr
    run_tether("burst", "export", str(burst), "--frame", "1", "--to", str(tmp_path / "f.dng"), check=True)
    assert (tmp_path / "f.dng").read_bytes() == first


def test_a_folder_of_dngs_stacks_to_the_same_picture_as_their_16_bit_tiffs(run_tether, tmp_path: Path) -> None:
    raws, tiffs = tmp_path / "raw", tmp_path / "tiff"
    raws.mkdir()
    tiffs.mkdir()
    for k, position in enumerate((150, 300, 450, 600)):
        data = dng_bytes(render("macro", position, SIZE, f_number=2.8), make="tether", model="sim",
                         exposure=Exposure("1/125", "2.8", "200"))
        (raws / f"P{k:03d}.DNG").write_bytes(data)
        cv2.imwrite(str(tiffs / f"P{k:03d}.tif"), cv2.cvtColor(develop(data), cv2.COLOR_RGB2BGR))
    from_raw, from_tiff = tmp_path / "raw.tif", tmp_path / "tiff.tif"
    run_tether("stack", str(raws), "--out", str(from_raw), check=True)
    run_tether("stack", str(tiffs), "--out", str(from_tiff), check=True)
    a, b = (cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in (from_raw, from_tiff))
    assert a.dtype == b.dtype == np.uint16
    assert np.abs(a.astype(np.int32) - b.astype(np.int32)).max() <= 1
    assert a.std() > 1000  # a picture, not a blank that would match anything


def test_a_damaged_or_cut_short_dng_is_one_clear_error(run_tether, tmp_path: Path) -> None:
    data = dng_bytes(render("macro", 300, SIZE, f_number=2.8), make="tether", model="sim",
                     exposure=Exposure("1/125", "2.8", "200"))
    good, damaged, short = tmp_path / "a.dng", tmp_path / "b.dng", tmp_path / "c.dng"
    good.write_bytes(data)
    damaged.write_bytes(data[:2] + bytes(256) + data[len(data) // 2:])
    short.write_bytes(data[:3000])
    for bad in (damaged, short):
        with pytest.raises(UnreadableImage, match=f"^{bad}: the RAW file cannot be decoded"):
            read_image(bad)
    result = run_tether("stack", str(good), str(damaged))
    assert result.returncode != 0 and result.stderr.count("\n") == 1
    assert f"{damaged}: the RAW file cannot be decoded" in result.stderr
