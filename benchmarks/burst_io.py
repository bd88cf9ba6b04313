"""Burst I/O benchmark: append throughput against plain file writes, random access, preview decode.

    .venv/bin/python benchmarks/burst_io.py [--frames 32] [--runs 7] [--dir DIR]

Appends ~2 MB 4K JPEG frames to a burst (fsync after every frame, the writer's policy) and writes
the same bytes to a plain file with the same fsync policy in the same run; the ratio is the target
(>= 80 %). Also: reading a frame by index from a closed burst (page cache warm), decoding a frame
at full, 1/2, 1/4 and 1/8 scale (JPEG DCT scaling), opening a closed burst, and the recovery scan.
Medians of --runs runs. Use --dir to measure on the disk bursts will live on (default: a temporary
folder in the current directory, not /tmp, which is often RAM).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import tempfile
import time
import zlib
from pathlib import Path

import cv2
import numpy as np

from tether.burst import BurstWriter, FrameMeta, open_burst


def make_frames(count: int, noise: float = 7.3) -> list[bytes]:
    """Distinct 3840x2160 JPEGs of about 2 MB: smooth scene plus sensor-like noise."""
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:2160, 0:3840].astype(np.float32)
    base = (np.stack([x / 15, y / 9, (x + y) / 23], axis=-1) % 255).astype(np.float32)
    frames = []
    for k in range(count):
        grain = rng.normal(0, noise, base.shape).astype(np.float32)
        image = np.clip(base + grain + k, 0, 255).astype(np.uint8)
        frames.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
    return frames


def write_burst(path: Path, frames: list[bytes], *, fsync: bool) -> float:
    """Create, append every frame, close (manifest + directory): the whole life of a burst."""
    start = time.perf_counter()
    with BurstWriter.create(path, camera={"model": "bench"}, sweep={}, fsync=fsync) as writer:
        for k, data in enumerate(frames):
            writer.append(data, FrameMeta(focus_position=k, width=3840, height=2160, mime="image/jpeg"))
    return time.perf_counter() - start


def write_plain(path: Path, frames: list[bytes], *, fsync: bool, checksums: bool = False) -> float:
    """The reference: the same bytes appended to one file, fdatasync after each, fsync at close."""
    start = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        for data in frames:
            if checksums:  # what any checked format must compute: SHA-256 (metadata) and CRC-32 (ZIP)
                hashlib.sha256(data).hexdigest()
                zlib.crc32(data)
            os.write(fd, data)
            if fsync:
                os.fdatasync(fd)
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - start


def interleaved(work: Path, frames: list[bytes], run: int) -> tuple[list[float], list[float], float]:
    """Per-frame times of a durable append and of write+fdatasync, alternating frame by frame.

    Alternating cancels the shared disk's slow and fast moments, which whole-run timings do not.
    """
    fd = os.open(work / f"alt{run}.bin", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    writer = BurstWriter.create(work / f"alt{run}.zip", camera={"model": "bench"}, sweep={})
    burst_t, plain_t = [], []
    try:
        for k, data in enumerate(frames):
            t = time.perf_counter()
            os.write(fd, data)
            os.fdatasync(fd)
            plain_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            writer.append(data, FrameMeta(focus_position=k, width=3840, height=2160, mime="image/jpeg"))
            burst_t.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        t = time.perf_counter()
        writer.close()
    return burst_t, plain_t, time.perf_counter() - t


def timed(fn, repeat: int) -> float:
    """Median seconds of ``fn()`` over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=Path.cwd())
    args = parser.parse_args()

    frames = make_frames(args.frames)
    total_mb = sum(map(len, frames)) / 1e6
    work = Path(tempfile.mkdtemp(prefix="burst-bench-", dir=args.dir))
    rows: list[tuple[str, str, str]] = []
    try:
        mb = total_mb / args.frames
        burst_t, plain_t, closes = [], [], []
        for run in range(args.runs):
            b, p, c = interleaved(work, frames, run)
            burst_t += b
            plain_t += p
            closes.append(c)
        b, p = statistics.median(burst_t), statistics.median(plain_t)
        rows.append(
            (
                "durable append (fsync each frame): burst",
                f"{mb / b:8.1f} MB/s",
                f"{1 / b:6.1f} frames/s  {b * 1e3:.2f} ms",
            )
        )
        rows.append(
            ("write + fdatasync: plain file", f"{mb / p:8.1f} MB/s", f"{1 / p:6.1f} frames/s  {p * 1e3:.2f} ms")
        )
        rows.append(("burst / plain (per frame, alternating)", f"{100 * p / b:8.0f} %", "target >= 80 %"))
        rows.append(("close (SHA-256 drain, manifest, directory)", f"{statistics.median(closes) * 1e3:8.1f} ms", ""))
        for fsync in (True, False):
            burst_runs, plain_runs, summed_runs = [], [], []
            for run in range(args.runs):  # whole bursts, create to close, interleaved run by run
                plain_runs.append(write_plain(work / f"plain{fsync}{run}.bin", frames, fsync=fsync))
                burst_runs.append(write_burst(work / f"burst{fsync}{run}.zip", frames, fsync=fsync))
                summed_runs.append(write_plain(work / f"summed{fsync}{run}.bin", frames, fsync=fsync, checksums=True))
            b, p, c = (statistics.median(t) for t in (burst_runs, plain_runs, summed_runs))
            policy = "fsync each frame" if fsync else "no fsync"
            rows.append(
                (f"whole burst, {policy}: burst", f"{total_mb / b:8.1f} MB/s", f"{args.frames / b:6.1f} frames/s")
            )
            rows.append(
                (f"whole burst, {policy}: plain file", f"{total_mb / p:8.1f} MB/s", f"{args.frames / p:6.1f} frames/s")
            )
            rows.append(
                (
                    f"whole burst, {policy}: plain + SHA-256 + CRC-32",
                    f"{total_mb / c:8.1f} MB/s",
                    f"{args.frames / c:6.1f} frames/s",
                )
            )
            rows.append((f"whole burst, {policy}: burst / plain", f"{100 * p / b:8.0f} %", ""))

        path = work / "burstTrue0.zip"
        rng = random.Random(0)
        with open_burst(path) as reader:
            reader.frame_bytes(0)
            read = timed(lambda: reader.frame_bytes(rng.randrange(reader.frame_count)), 50)
            rows.append(("random-access frame read (2 MB, warm cache)", f"{read * 1e3:8.2f} ms", ""))
            full = timed(lambda: reader.frame_image(rng.randrange(reader.frame_count)), args.runs)
            rows.append(("decode 3840x2160 full scale", f"{full * 1e3:8.1f} ms", ""))
            for r in (2, 4, 8):
                t = timed(lambda r=r: reader.frame_image(rng.randrange(reader.frame_count), reduce=r), args.runs)
                rows.append(
                    (f"decode preview reduce={r} (DCT scaling)", f"{t * 1e3:8.1f} ms", f"{full / t:5.1f}x faster")
                )
        smooth_path = work / "smooth.zip"
        with BurstWriter.create(smooth_path, camera={}, sweep={}) as writer:
            smooth = make_frames(1, noise=1.0)[0]
            writer.append(smooth, FrameMeta())
        with open_burst(smooth_path) as reader:  # less entropy: the Huffman stage no longer dominates
            full_s = timed(lambda: reader.frame_image(0), args.runs)
            rows.append(
                (f"decode full scale, low-noise frame ({len(smooth) / 1e6:.2f} MB)", f"{full_s * 1e3:8.1f} ms", "")
            )
            for r in (4, 8):
                t = timed(lambda r=r: reader.frame_image(0, reduce=r), args.runs)
                rows.append(
                    (f"decode preview reduce={r}, low-noise frame", f"{t * 1e3:8.1f} ms", f"{full_s / t:5.1f}x faster")
                )
        opened = timed(lambda: open_burst(path).close(), args.runs)
        rows.append((f"open a closed burst ({args.frames} frames)", f"{opened * 1e3:8.2f} ms", ""))
        crashed = work / "crashed.zip"
        data = path.read_bytes()
        crashed.write_bytes(data[: data.rfind(b"manifest.json") - 30])
        scan = timed(lambda: open_burst(crashed).close(), args.runs)
        rows.append(("open an unclosed burst (recovery scan)", f"{scan * 1e3:8.1f} ms", f"{total_mb / scan:6.0f} MB/s"))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"burst I/O: {args.frames} frames of {total_mb / args.frames:.2f} MB (3840x2160 JPEG), "
        f"medians of {args.runs} runs"
    )
    print("  (whole-burst times include create and close; the SHA-256 runs on a worker and is drained at close)")
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value}  {note}")


if __name__ == "__main__":
    main()
