"""Camera RAWs given to the real ``tether burst import``: a TIFF-based RAW (DNG, like CR2, NEF and ARW) is checked
by LibRaw only; its TIFF header must not send it to the PNG/TIFF decoder, which cannot decode sensor data."""
from __future__ import annotations

from pathlib import Path

from tether.camera.sim import render
from tether.camera.sim.dng import dng_bytes
from tether.camera.sim.exif import Exposure

SIZE = (160, 120)


def dngs(folder: Path, count: int) -> list[Path]:
    """The simulated camera's own DNG stills at ``count`` focus positions."""
    paths = []
    for k in range(count):
        path = folder / f"SIM_{k + 1:04d}.DNG"
        path.write_bytes(dng_bytes(render("macro", 300 + 100 * k, SIZE, f_number=5.6), make="tether", model="sim",
                                   exposure=Exposure("1/60", "5.6", "400")))
        paths.append(path)
    return paths


def test_burst_import_takes_dngs_whose_header_is_a_tiffs(run_tether, tmp_path: Path) -> None:
    files = dngs(tmp_path, 3)
    assert files[0].read_bytes()[:4] == b"II*\x00"  # what made it look like a TIFF
    out = tmp_path / "raw.burst"
    result = run_tether("burst", "import", *map(str, files), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{out}: 3 frames imported"
    assert "TIFF image is damaged" not in result.stderr
    assert run_tether("burst", "verify", str(out)).returncode == 0


def test_burst_import_still_refuses_a_dng_libraw_cannot_open(run_tether, tmp_path: Path) -> None:
    first, second = dngs(tmp_path, 2)
    second.write_bytes(b"II*\x00" + b"\x00" * 64)  # a TIFF header and nothing a RAW needs
    out = tmp_path / "raw.burst"
    result = run_tether("burst", "import", str(first), str(second), "--out", str(out))
    assert result.returncode == 1
    assert f"{second}: the RAW file cannot be decoded" in result.stderr
    assert not out.exists()
