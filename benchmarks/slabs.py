"""Slabbing benchmark: a deep simulated stack, stacked whole and in slabs; PSNR against truth, halos, noise, memory.

    .venv/bin/python benchmarks/slabs.py [--frames 200] [--size 1200x900] [--slabs 5,10] [--scene product] [--dir DIR]

The sweep comes from tether's simulator as benchmarks/stack.py renders it (breathing, ISO 400 noise, JPEG
95), but with many frames between the nearest and the farthest object: a deep stack, where each pixel
has dozens of frames near its focus. Each run is the real ``tether stack FILES [--slabs N]`` in a
process of its own (wall time, peak RSS). The truth is registered onto each result
(tests/imaging/registration.py) and scored three ways: PSNR over the picture (minus a 3 % border),
PSNR within 12 px of a depth edge of the scene (where halos are), and the residual noise, the
standard deviation of result minus truth where the truth is smooth (where noise shows).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the scoring lives in tests/
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the rendering and the runner: stack.py

from stack import Case, read_result, render_case, run

from tests.imaging.registration import psnr, register, truth_on_result
from tether.camera.sim.truth import SceneTruth

EDGE_BAND = 12
SMOOTH_SIGMA = 2.0


def regions(truth_scene: SceneTruth, size: tuple[int, int], truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(near a depth edge, smooth): masks in the truth's geometry (frame 0's; breathing is a fraction of a
    pixel at the band's scale)."""
    index = truth_scene.index_map(size)
    edges = cv2.Canny(index * 40, 1, 1) > 0
    band = cv2.dilate(edges.astype(np.uint8), np.ones((2 * EDGE_BAND + 1,) * 2, np.uint8)) > 0
    grey = cv2.cvtColor(truth, cv2.COLOR_BGR2GRAY).astype(np.float32)
    local = cv2.GaussianBlur(grey, (0, 0), SMOOTH_SIGMA)
    variance = cv2.GaussianBlur((grey - local) ** 2, (0, 0), SMOOTH_SIGMA)
    smooth = (variance < 2.0) & ~band
    return band, smooth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--size", default="1200x900")
    parser.add_argument("--slabs", default="5,10", help="slab counts to run besides no slabs")
    parser.add_argument("--scene", default="product")
    parser.add_argument("--dir", type=Path)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    case = Case("sim", (width, height), args.frames, args.scene)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        print(f"rendering {args.frames} frames of {args.scene} at {width}x{height} ...", flush=True)
        paths, truth, _ = render_case(case, folder)
        band, smooth = regions(SceneTruth(args.scene), (width, height), truth)
        print("| slabs | wall s | peak MB | PSNR dB | PSNR near depth edges dB | noise where smooth (grey levels) |")
        print("|---|---:|---:|---:|---:|---:|")
        for count in [0, *(int(v) for v in args.slabs.split(","))]:
            out = folder / f"slabs{count}.png"
            options = ["--slabs", str(count)] if count else []
            measure = run([sys.executable, "-m", "tether", "stack", *map(str, paths), "--out", str(out), *options],
                          folder)
            image, _ = read_result(out)
            reg = register(image, truth)
            warped, mask = truth_on_result(truth, reg)
            # the regions follow the truth onto the result (result pixel x shows the truth at matrix @ x)
            flags = cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
            on_result = [cv2.warpPerspective(m.astype(np.uint8), reg.matrix, (width, height), flags=flags) > 0
                         for m in (band, smooth)]
            residual = (image.astype(np.float32) - warped.astype(np.float32))[mask & on_result[1]]
            print(f"| {count or 'none'} | {measure.wall:.1f} | {measure.peak_mb:.0f} | {psnr(image, warped, mask):.2f} "
                  f"| {psnr(image, warped, mask & on_result[0]):.2f} | {float(residual.std()):.2f} |", flush=True)


if __name__ == "__main__":
    main()
