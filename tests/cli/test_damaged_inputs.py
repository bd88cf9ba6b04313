"""Damaged or unusable image files given to the real ``tether stack`` and ``tether burst import``: one line
of tether's naming the file, nothing of a decoder's own on stderr, and nothing written."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

SIZE = (96, 128)  # (H, W)


def texture(seed: int = 0, size: tuple[int, int] = SIZE) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.resize(rng.uniform(0, 255, (12, 16, 3)).astype(np.uint8), (size[1], size[0]))


def jpegs(folder: Path, count: int) -> list[Path]:
    paths = [folder / f"f{k}.jpg" for k in range(count)]
    for k, path in enumerate(paths):
        cv2.imwrite(str(path), np.roll(texture(), k, axis=1))
    return paths


def damaged_tiff(path: Path) -> Path:
    """An LZW TIFF with bytes 8-200 (pixel data) overwritten, as the tester made it: OpenCV decodes it
    with garbage there and only logs libtiff's error."""
    Image.fromarray(texture(1)[:, :, ::-1]).save(path, compression="tiff_lzw")
    data = bytearray(path.read_bytes())
    data[8:200] = b"\xaa" * 192
    path.write_bytes(bytes(data))
    assert cv2.imread(str(path)) is not None  # what makes it dangerous: it "decodes"
    return path


def damaged_png(path: Path) -> Path:
    """A PNG whose IDAT data is garbled, its CRC made right again: only decoding the pixels finds it."""
    data = bytearray(cv2.imencode(".png", texture(2))[1].tobytes())
    at = data.find(b"IDAT")
    (length,) = struct.unpack(">I", data[at - 4:at])
    data[at + 40:at + 140] = b"\x55" * 100
    data[at + 4 + length:at + 8 + length] = struct.pack(">I", zlib.crc32(bytes(data[at:at + 4 + length])))
    path.write_bytes(bytes(data))
    return path


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith(("Analysing", "Stacking"))]
    assert len(lines) == 1, stderr
    return lines[0]


def test_a_damaged_tiff_is_refused_by_stack(run_tether, tmp_path: Path) -> None:
    f0, f1, f3 = jpegs(tmp_path, 3)
    bad = damaged_tiff(tmp_path / "corrupt.tif")
    out = tmp_path / "out.jpg"
    result = run_tether("stack", str(f0), str(f1), str(bad), str(f3), "--out", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    assert one_line(result.stderr).startswith(f"tether: {bad}: the TIFF image is damaged"), result.stderr
    assert "TIFF_Error" not in result.stderr and "not yet in table" not in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("kind", ["damaged TIFF", "damaged PNG", "text named .RW2", "JPEG named .NEF", "smaller"])
def test_burst_import_refuses_a_file_that_cannot_be_stacked(run_tether, tmp_path: Path, kind: str) -> None:
    good = jpegs(tmp_path, 2)
    if kind == "damaged TIFF":
        bad, expected = damaged_tiff(tmp_path / "x.tif"), "the TIFF image is damaged"
    elif kind == "damaged PNG":
        bad, expected = damaged_png(tmp_path / "x.png"), "the PNG image is damaged"
    elif kind == "text named .RW2":
        bad, expected = tmp_path / "x.RW2", "the RAW file cannot be decoded"
        bad.write_text("not a raw file at all\n")
    elif kind == "JPEG named .NEF":
        bad, expected = tmp_path / "x.NEF", "not RAW file"
        bad.write_bytes(good[0].read_bytes())
    else:
        bad, expected = tmp_path / "x.jpg", f"64x48 pixels, but {good[0]} is 128x96"
        cv2.imwrite(str(bad), cv2.resize(texture(), (64, 48)))
    out = tmp_path / "imp.burst"
    result = run_tether("burst", "import", *map(str, good), str(bad), "--out", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    line = one_line(result.stderr)
    assert line.startswith(f"tether: {bad}: ") and expected in line, result.stderr
    assert "b'" not in line and "libpng" not in result.stderr
    assert not out.exists()


def test_a_16_bit_frame_in_a_stack_an_8_bit_frame_begins_is_refused(run_tether, tmp_path: Path) -> None:
    """Its frames were silently cut to 8 bits; the other way round, 8-bit frames in a 16-bit stack lose nothing."""
    f0, f1, f2 = jpegs(tmp_path, 3)
    deep = tmp_path / "f1.tif"
    cv2.imwrite(str(deep), cv2.imread(str(f1)).astype(np.uint16) * 257)
    out = tmp_path / "out.tif"
    result = run_tether("stack", str(f0), str(deep), str(f2), "--out", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    assert one_line(result.stderr).startswith(f"tether: {deep}: 16-bit, but the first frame {f0} is 8-bit"), \
        result.stderr
    assert not out.exists()
    result = run_tether("stack", str(deep), str(f0), str(f2), "--out", str(out), check=True)
    assert "16-bit, 3 frames" in result.stdout
