"""The real ``tether stack / refocus / aperture`` commands on image files and a burst, as a user runs them."""
from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from tether.burst import BurstWriter, FrameMeta, open_burst
from tether.imaging import FOCUS_INDEX_NAME


@pytest.fixture(scope="module")
def stack_files(synthetic, tmp_path_factory: pytest.TempPathFactory):
    stack = synthetic(n=8, shape=(120, 160), seed=9)
    folder = tmp_path_factory.mktemp("stack")
    paths = []
    for k, frame in enumerate(stack.frames):
        exif = Image.Exif()
        exif[0x010F] = "Panasonic"  # Make
        buf = io.BytesIO()
        Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)).save(buf, "JPEG", quality=97, exif=exif.tobytes())
        path = folder / f"P{k:03d}.jpg"
        path.write_bytes(buf.getvalue())
        paths.append(path)
    return stack, paths


@pytest.fixture
def burst_file(stack_files, tmp_path: Path) -> Path:
    """A new burst for each test: the refocus test checks that the index is cached in it."""
    _, paths = stack_files
    path = tmp_path / "b.burst"
    with BurstWriter.create(path, camera={"model": "test"}, sweep={"steps": len(paths)}, fsync=False) as writer:
        for k, p in enumerate(paths):
            writer.append(p.read_bytes(), FrameMeta(focus_position=10 * k, source="still", exposure={"f_number": 8}))
    return path


def test_stack_of_files_writes_jpeg_with_exif_and_maps(stack_files, run_tether, tmp_path: Path) -> None:
    stack, paths = stack_files
    out, depth, coverage = tmp_path / "s.jpg", tmp_path / "d.png", tmp_path / "c.png"
    result = run_tether("stack", *map(str, paths), "--out", str(out), "--depth-map", str(depth),
                        "--coverage", str(coverage), check=True)
    assert f"wrote {out}" in result.stdout
    with Image.open(out) as im:
        exif = im.getexif()
        assert exif[0x010F] == "Panasonic" and "focus stack" in exif[0x010E]
    image = cv2.imread(str(out))
    assert cv2.PSNR(image, stack.sharp) > max(cv2.PSNR(f, stack.sharp) for f in stack.frames)  # quality: test_truth.py
    d = cv2.imread(str(depth), cv2.IMREAD_UNCHANGED)
    assert d.dtype == np.uint16 and d.shape == (120, 160)
    assert cv2.imread(str(coverage), cv2.IMREAD_UNCHANGED).dtype == np.uint8


def test_16_bit_tiff_input_gives_16_bit_output(stack_files, run_tether, tmp_path: Path) -> None:
    stack, _ = stack_files
    paths = []
    for k, frame in enumerate(stack.frames[:4]):
        p = tmp_path / f"f{k}.tif"
        cv2.imwrite(str(p), frame.astype(np.uint16) * 257)
        paths.append(str(p))
    run_tether("stack", *paths, check=True)
    out = tmp_path / "f0-stack.tif"
    assert cv2.imread(str(out), cv2.IMREAD_UNCHANGED).dtype == np.uint16


def test_bad_inputs_are_one_line_errors(stack_files, run_tether, tmp_path: Path) -> None:
    _, paths = stack_files
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image at all")
    small = tmp_path / "small.png"
    cv2.imwrite(str(small), np.zeros((10, 10, 3), np.uint8))
    cases = {
        (str(paths[0]), str(junk)): "not an image",
        (str(paths[0]), str(small)): "one size",
        (str(paths[0]),): "at least two frames",
        (str(paths[0]), str(paths[1]), "--range", "5:9"): "frame range 5-9 is not within the frames there are, 1-2 "
                                                           "(the last frame is 2)",
        (str(paths[0]), str(paths[1]), "--range", "0:999"): "frame range 0-999 is not within",  # not cut to fit
        (str(paths[0]), str(paths[1]), "--range", "2:1"): "give FIRST <= LAST",
        (str(paths[0]), str(paths[1]), "--range", "0:1"): "frames are counted from 1",
        (str(paths[0]), str(paths[1]), "--out", str(tmp_path / "x.gif")): ".jpg, .png or .tif",
    }
    for args, message in cases.items():
        result = run_tether("stack", *args)
        assert result.returncode != 0 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_burst_refocus_caches_the_index_and_returns_the_camera_jpeg(stack_files, burst_file, run_tether,
                                                                  tmp_path: Path) -> None:
    stack, paths = stack_files
    x, y = 48, 42  # the middle of the near disc
    out = tmp_path / "r.jpg"
    result = run_tether("refocus", str(burst_file), "--at", f"{x},{y}", "--out", str(out), check=True)
    frame = int(result.stdout.split()[1])  # counted from 1, as a person reads it
    assert abs(frame - 1 - stack.depth[y, x]) <= 1
    assert out.read_bytes() == paths[frame - 1].read_bytes()
    with open_burst(burst_file) as reader:
        assert FOCUS_INDEX_NAME in reader.derived_names()


def test_burst_range_stack_and_aperture(burst_file, run_tether, tmp_path: Path) -> None:
    out = tmp_path / "range.png"
    result = run_tether("stack", str(burst_file), "--range", "2:5", "--method", "depthmap", "--out", str(out),
                        check=True)
    assert "4 frames" in result.stdout and out.exists()
    wide = tmp_path / "wide.jpg"
    result = run_tether("aperture", str(burst_file), "--focus", "80,60", "--f-number", "2", "--out", str(wide),
                        check=True)
    assert "f/2 from f/8" in result.stdout and wide.exists()
    bad = run_tether("refocus", str(burst_file), "--at", "500,10")
    assert bad.returncode == 1 and "outside" in bad.stderr


def test_a_first_frame_nothing_matches_is_named(run_tether, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    texture = cv2.resize(rng.uniform(0, 255, (60, 80, 3)).astype(np.uint8), (320, 240))
    other = np.full((240, 320, 3), 128, np.uint8)  # another scene: the frame the others are registered to
    other[:120] = 20
    paths = [tmp_path / f"{k}.png" for k in range(3)]
    for path, picture in zip(paths, (other, texture, np.roll(texture, 2, axis=1)), strict=True):
        cv2.imwrite(str(path), picture)
    result = run_tether("stack", *(str(p) for p in paths))
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert "left out: frame(s) 2, 3" in result.stderr and "registered to the first" in result.stderr, result.stderr
