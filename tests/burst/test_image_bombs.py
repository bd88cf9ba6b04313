"""Image bombs: files of a few hundred kB whose headers claim gigapixels, a truncated JPEG, and a burst of
three 30000x30000 PNG frames. The real CLI and a real ``tether serve`` refuse each in one line, before
decoding anything, and stay small while doing so.

Every child runs under an address-space limit that its libraries and threads fit but a decoded bomb
does not, so a regression fails at once (not after minutes of swapping); its peak resident memory,
from its /proc status, is checked against :data:`PEAK_MB`.
"""
from __future__ import annotations

import os
import re
import resource
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests

from tether.burst import BurstWriter, FrameMeta

#: The address space a tether child may map: idle it maps under 1 GB, a bomb asks for gigabytes more.
ADDRESS_SPACE = 2 << 30
#: The resident memory, in MB, a refusal may cost: tether's own size plus a little.
PEAK_MB = 500
LIMIT = "tether decodes images of up to 120 megapixels"


# -- the files -------------------------------------------------------------------------------------

def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int, height: int, *, bits: int = 1) -> bytes:
    """A valid greyscale PNG of black pixels, compressed row by row (never held whole here either)."""
    packer = zlib.compressobj(9)
    row = bytes(1 + -(-width * bits // 8))  # filter byte + packed samples
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, bits, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def jpeg(width: int = 320, height: int = 240, seed: int = 1) -> bytes:
    """A real JPEG of noise."""
    image = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return data.tobytes()


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF) claims ``width`` x ``height``."""
    data = bytearray(jpeg(64, 48))
    sof = data.find(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def tiff_claiming(width: int, height: int) -> bytes:
    """A little-endian TIFF whose directory (at the end, where libtiff puts it) claims ``width`` x ``height``."""
    pixels = bytes(64)
    tags = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 8), (277, 3, 1),
            (278, 4, height), (279, 4, len(pixels))]
    entries = b"".join(struct.pack("<HHII", tag, kind, 1, value) for tag, kind, value in tags)
    ifd = struct.pack("<H", len(tags)) + entries
    ifd += bytes(4)  # no next directory
    return b"II*\x00" + struct.pack("<I", 8 + len(pixels)) + pixels + ifd


def sparse(path: Path, head: bytes, size: int) -> None:
    """``head`` followed by zeros up to ``size`` bytes, as a sparse file."""
    with path.open("wb") as fh:
        fh.write(head)
        fh.truncate(size)


def bomb_burst(path: Path, frames: int = 3) -> Path:
    """A burst of 30000x30000 1-bit PNG frames (about 110 kB each) appended as a sweep would."""
    png = png_bomb(30000, 30000)
    writer = BurstWriter.create(path, camera={"model": "bomb"}, sweep={"mode": "test"})
    for n in range(frames):
        writer.append(png, FrameMeta(focus_position=n, source="still", mime="image/png"))
    writer.close()
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ok.jpg, ok2.jpg (two stray bytes before a marker, which decoders skip), bomb.png (225 MP, a Pillow
    decompression bomb), huge.jpg (65000x65000), big.tif (400 MP), cut.jpg and cut.png (truncated),
    long.jpg and padded.jpg (hundreds of MB), and bomb.burst (three 900 MP frames, 331 kB)."""
    folder = tmp_path_factory.mktemp("bombs")
    (folder / "ok.jpg").write_bytes(jpeg(seed=1))
    second = jpeg(seed=2)
    tables = second.find(b"\xff\xdb")
    (folder / "ok2.jpg").write_bytes(second[:tables] + b"\x00\x00" + second[tables:])  # stray bytes, as some cameras
    (folder / "bomb.png").write_bytes(png_bomb(15000, 15000, bits=8))
    (folder / "huge.jpg").write_bytes(jpeg_claiming(65000, 65000))
    (folder / "big.tif").write_bytes(tiff_claiming(20000, 20000))
    whole = jpeg(640, 480, seed=3)
    (folder / "cut.jpg").write_bytes(whole[: len(whole) * 2 // 3])
    png = cv2.imencode(".png", np.random.default_rng(4).integers(0, 255, (240, 320), dtype=np.uint8))[1].tobytes()
    (folder / "cut.png").write_bytes(png[: len(png) // 2])
    bomb_burst(folder / "bomb.burst")
    # sparse files of hundreds of MB, which take no disk: read whole, either would take its size in memory
    sparse(folder / "long.jpg", jpeg_claiming(10000, 10000)[:-2], 700_000_000)  # 100 MP, no end marker
    sparse(folder / "padded.jpg", jpeg(seed=5), 1_000_000_000)  # a whole small JPEG, then a GB of zeros
    assert (folder / "bomb.burst").stat().st_size < 400_000
    return folder


# -- running tether under the limit --------------------------------------------------------------

@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    peak_mb: float


#: ``python -m tether`` that, on its way out, copies its /proc status (VmHWM: the peak resident memory of
#: its own address space) to the file named first. Not ``wait4``'s figure: Linux carries that across
#: exec, so a child forked from a large pytest would report pytest's size.
_REPORTING = ("import atexit, runpy, shutil, sys\n"
              "report = sys.argv.pop(1)\n"
              "atexit.register(lambda: shutil.copyfile('/proc/self/status', report))\n"
              "runpy.run_module('tether', run_name='__main__', alter_sys=True)\n")


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def start(args: list[str], log: Path, **popen: object) -> subprocess.Popen[bytes]:
    """``python -m tether ARGS`` under :data:`ADDRESS_SPACE`; stdout, stderr and status into ``log``.*."""
    with log.with_suffix(".out").open("wb") as out, log.with_suffix(".err").open("wb") as err:
        return subprocess.Popen([sys.executable, "-c", _REPORTING, str(log.with_suffix(".status")), *args],
                                preexec_fn=_limit_address_space, stdout=out, stderr=err,
                                **popen)  # type: ignore[call-overload]


def finish(process: subprocess.Popen[bytes], log: Path) -> Finished:
    """Wait for the child; its exit code, output and peak resident memory."""
    process.wait()
    status = log.with_suffix(".status").read_text()
    peak_kb = int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1))  # type: ignore[union-attr]
    return Finished(process.returncode, log.with_suffix(".out").read_text(errors="replace"),
                    log.with_suffix(".err").read_text(errors="replace"), peak_kb / 1024)


def tether(*args: str, cwd: Path) -> Finished:
    return finish(start(list(args), cwd / "run", cwd=cwd), cwd / "run")


def assert_refused(result: Finished, *named: str) -> str:
    """One line on stderr, naming what was refused, exit 1, no traceback or decoder text, little memory."""
    assert result.returncode == 1, result
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("tether: "), line
    for word in named:
        assert word in line, line
    for leak in ("Traceback", "cv2", "OpenCV", "DecompressionBomb", "ffmpeg", "/"):
        assert leak not in line, line
    assert result.peak_mb < PEAK_MB, f"peak {result.peak_mb:.0f} MB"
    return line


# -- the CLI ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("bad", "says"), [
    ("bomb.png", "bomb.png is 15000x15000 pixels (225 megapixels); " + LIMIT),
    ("huge.jpg", "huge.jpg is 65000x65000 pixels (4225 megapixels); " + LIMIT),
    ("big.tif", "big.tif is 20000x20000 pixels (400 megapixels); " + LIMIT),
    ("cut.jpg", "cut.jpg: the JPEG image is cut short or damaged"),
    ("cut.png", "cut.png: the PNG image is cut short or damaged"),
    ("long.jpg", "long.jpg: the JPEG image is cut short or damaged"),
    ("padded.jpg", "padded.jpg is 1000 MB, more than a 320x240 image can take (68 MB)"),
])
def test_import_refuses_in_one_line_and_writes_nothing(files: Path, tmp_path: Path, bad: str, says: str) -> None:
    result = tether("burst", "import", "ok.jpg", bad, "--out", "new.burst", cwd=files)
    assert says in assert_refused(result)
    assert not (files / "new.burst").exists()


def test_import_of_whole_images_still_works(files: Path, tmp_path: Path) -> None:
    result = tether("burst", "import", str(files / "ok.jpg"), str(files / "ok2.jpg"), "--out", "fine.burst",
                    cwd=tmp_path)
    assert result.returncode == 0, result
    assert result.stdout.strip() == "fine.burst: 2 frames imported"


@pytest.mark.parametrize("bad", ["bomb.png", "huge.jpg", "big.tif"])
def test_stack_of_files_refuses_the_bomb(files: Path, tmp_path: Path, bad: str) -> None:
    result = tether("stack", "ok.jpg", bad, "--out", str(tmp_path / "s.jpg"), cwd=files)
    assert assert_refused(result, LIMIT).startswith(f"tether: {bad} is ")
    assert not (tmp_path / "s.jpg").exists()


@pytest.mark.parametrize("command", [
    ["stack", "bomb.burst", "--out", "stacked.jpg"],
    ["refocus", "bomb.burst", "--at", "10,10", "--out", "refocused.jpg"],
    ["burst", "export", "bomb.burst", "--to", "movie.mp4"],
])
def test_commands_on_the_bomb_burst_refuse_in_one_line(files: Path, command: list[str]) -> None:
    line = assert_refused(tether(*command, cwd=files), "bomb.burst: frame 1 is 30000x30000 pixels", LIMIT)
    assert line == f"tether: bomb.burst: frame 1 is 30000x30000 pixels (900 megapixels); {LIMIT}"
    assert not (files / command[-1]).exists()
    assert not [p for p in files.iterdir() if p.name.startswith(".movie")]  # no half-made movie


def test_folder_export_copies_the_bomb_frames_without_decoding(files: Path, tmp_path: Path) -> None:
    result = tether("burst", "export", str(files / "bomb.burst"), "--to", "frames", cwd=tmp_path)
    assert result.returncode == 0, result
    assert result.peak_mb < PEAK_MB
    assert sorted(p.name for p in (tmp_path / "frames").iterdir() if p.suffix == ".png") == [
        "bomb_0001.png", "bomb_0002.png", "bomb_0003.png"]


# -- the server ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_server_refuses_the_bomb_burst_and_stays_small(files: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "bursts").mkdir(parents=True)
    (data / "bursts" / "bomb.burst").write_bytes((files / "bomb.burst").read_bytes())
    port = free_port()
    log = tmp_path / "serve"
    process = start(["--data-dir", str(data), "serve", "--camera", "sim:macro", "--port", str(port)], log,
                    cwd=tmp_path, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    api = f"http://127.0.0.1:{port}/api"
    try:
        for _ in range(300):
            try:
                requests.get(f"{api}/state", timeout=2)
                break
            except requests.ConnectionError:
                assert process.poll() is None, log.with_suffix(".err").read_text()
                time.sleep(0.1)
        # the API's frames/1.jpg is the second frame: its message counts from 1, like every message
        says = f"bursts/bomb.burst: frame 2 is 30000x30000 pixels (900 megapixels); {LIMIT}"
        for path in ("bursts/bomb/frames/1.jpg", "bursts/bomb/thumbnail.jpg"):  # the thumbnail: the middle frame
            answer = requests.get(f"{api}/{path}", timeout=60)
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"] == says
        jobs = [requests.post(f"{api}/bursts/bomb/{what}", json=body, timeout=10).json()["job"]
                for what, body in (("refocus-map", {}), ("stack", {}), ("export", {"format": "mp4"}))]
        for job in jobs:
            for _ in range(600):
                state = requests.get(f"{api}/jobs/{job}", timeout=10).json()
                if state["state"] not in ("queued", "running"):
                    break
                time.sleep(0.1)
            assert (state["state"], state["error"]) == ("error", says.replace("frame 2", "frame 1"))
    finally:
        process.send_signal(signal.SIGTERM)
        result = finish(process, log)
    assert result.returncode == 0, result.stderr
    assert result.peak_mb < PEAK_MB, f"peak {result.peak_mb:.0f} MB"
    assert "Traceback" not in result.stderr
