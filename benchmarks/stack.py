"""Focus-stacking benchmark: tether against align_image_stack + enfuse, on simulated stacks with known truth.

    .venv/bin/python benchmarks/stack.py [--runs 3] [--cases 12mp,3mp] [--dir DIR] [--keep]

Each case is a focus sweep rendered by the simulated camera's pure renderer (thin lens, disk
blur, occlusion, focus breathing on, sensor noise at ISO 400) and saved as JPEG (quality 95),
as a camera would deliver it:

    12mp  20 frames of 4000 x 3000 (macro scene)
    3mp   50 frames of 2000 x 1500 (product scene)

Both tools stack the same files into a TIFF in the first frame's geometry:

    tether:     tether stack FILES --out tether.tif
    reference:  align_image_stack -m -a al_ --use-given-order FILES          (hugin-tools)
                enfuse --exposure-weight=0 --saturation-weight=0 --contrast-weight=1
                       --hard-mask --contrast-window-size=5 -o ref.tif al_*.tif  (enfuse)

and are scored against the simulator's all-in-focus image (same geometry) by PSNR and SSIM
over the frame minus a 3 % border. Wall time and peak memory (peak RSS of each process, from
wait4; the reference's is the larger of its two steps) are medians over --runs runs. The
missing tools are installed with apt-get (Debian packages enfuse and hugin-tools) first.
Targets (issue 6): PSNR >= reference + 1 dB, wall time <= 0.15 x reference, peak memory
<= 30 MB per megapixel whatever the frame count.
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tether.camera.sim import optics
from tether.camera.sim.sensor import NoiseSource, noise_sigma
from tether.camera.sim.truth import SceneTruth

CASES = {"12mp": ("macro", (4000, 3000), 20), "3mp": ("product", (2000, 1500), 50)}
ENFUSE_ARGS = ["--exposure-weight=0", "--saturation-weight=0", "--contrast-weight=1", "--hard-mask",
               "--contrast-window-size=5"]


@dataclass
class Measure:
    wall: float
    peak_mb: float


def ensure_reference() -> None:
    """Install enfuse and align_image_stack with apt-get when missing (the benchmark's set-up only)."""
    if shutil.which("enfuse") and shutil.which("align_image_stack"):
        return
    apt = ["apt-get"] if os.geteuid() == 0 else ["sudo", "apt-get"]
    print("installing enfuse and hugin-tools with apt-get ...", flush=True)
    subprocess.run([*apt, "install", "-y", "-q", "enfuse", "hugin-tools"], check=True,
                   stdout=subprocess.DEVNULL)


def render_case(name: str, folder: Path) -> tuple[list[Path], np.ndarray]:
    """Write the case's sweep as JPEGs into ``folder``; return the paths and the truth image."""
    scene, size, count = CASES[name]
    truth = SceneTruth(scene)
    targets = [o.focus_position for o in truth.objects]
    positions = np.linspace(min(targets) - 6, max(targets) + 6, count)
    cache = optics.LayerCache()
    sensor = NoiseSource(0)
    paths = []
    for k, position in enumerate(positions):
        frame = sensor.add(optics.render(scene, float(position), size, breathing=True, cache=cache), noise_sigma("400"))
        path = folder / f"frame{k:03d}.jpg"
        cv2.imwrite(str(path), frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
        paths.append(path)
    return paths, truth.all_in_focus(size, focus_position=float(positions[0]))


# Runs the command from a small process: Linux children inherit the peak RSS of whoever forked
# them, and this benchmark holds large images while it runs.
_LAUNCHER = """
import os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(os.waitstatus_to_exitcode(status), time.perf_counter() - start, usage.ru_maxrss, file=sys.stderr)
"""


def run(cmd: list[str], cwd: Path) -> Measure:
    """Run ``cmd`` to completion; wall time and the child's peak RSS (MB)."""
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], cwd=cwd, stderr=subprocess.PIPE, text=True)
    lines = done.stderr.strip().splitlines()
    code, wall, peak_kb = lines[-1].split()
    if int(code) != 0:
        raise SystemExit(f"{cmd[0]} failed ({code}):\n" + "\n".join(lines[-20:]))
    return Measure(float(wall), int(peak_kb) / 1024)


def run_tether(paths: list[Path], out: Path) -> Measure:
    return run([sys.executable, "-m", "tether", "stack", *map(str, paths), "--out", str(out)], out.parent)


def run_reference(paths: list[Path], out: Path) -> Measure:
    work = out.parent
    for old in work.glob("al_*.tif"):
        old.unlink()
    a = run(["align_image_stack", "-m", "-a", "al_", "--use-given-order", *map(str, paths)], work)
    b = run(["enfuse", *ENFUSE_ARGS, "-o", str(out), *sorted(str(p) for p in work.glob("al_*.tif"))], work)
    return Measure(a.wall + b.wall, max(a.peak_mb, b.peak_mb))


def interpreter_baseline() -> float:
    """Peak RSS (MB) of ``tether stack --help``: what Python and the libraries the command loads cost."""
    # Not ``tether --version``: numpy and OpenCV are loaded only by the commands that use them.
    return run([sys.executable, "-m", "tether", "stack", "--help"], Path.cwd()).peak_mb


def inner(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    m = int(0.03 * min(h, w))
    return image[m:h - m, m:w - m]


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of the luminance (Wang et al. 2004: Gaussian window sigma 1.5, K1 0.01, K2 0.03)."""
    x = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY).astype(np.float32)
    y = cv2.cvtColor(b, cv2.COLOR_BGR2GRAY).astype(np.float32)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(z: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(z, (11, 11), 1.5)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s.mean())


def score(path: Path, truth: np.ndarray) -> tuple[float, float]:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None or image.shape != truth.shape:
        raise SystemExit(f"{path}: missing or of the wrong size")
    a, b = inner(image), inner(truth)
    return cv2.PSNR(a, b), ssim(a, b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each tool per case (medians)")
    parser.add_argument("--cases", default="12mp,3mp", help="comma-separated: " + ",".join(CASES))
    parser.add_argument("--dir", type=Path, help="working folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the frames and results")
    args = parser.parse_args()
    ensure_reference()
    root = Path(tempfile.mkdtemp(prefix="stack-bench-", dir=args.dir))
    baseline = interpreter_baseline()
    rows = []
    try:
        for name in args.cases.split(","):
            folder = root / name
            folder.mkdir()
            count, (width, height) = CASES[name][2], CASES[name][1]
            print(f"[{name}] rendering {count} frames of {width}x{height} ...", flush=True)
            paths, truth = render_case(name, folder)
            mp = truth.shape[0] * truth.shape[1] / 1e6
            results = {}
            for tool, runner in (("tether", run_tether), ("enfuse", run_reference)):
                measures = []
                for k in range(args.runs):
                    print(f"[{name}] {tool} run {k + 1}/{args.runs} ...", flush=True)
                    measures.append(runner(paths, folder / f"{tool}.tif"))
                psnr, s = score(folder / f"{tool}.tif", truth)
                results[tool] = (
                    statistics.median(m.wall for m in measures),
                    statistics.median(m.peak_mb for m in measures),
                    psnr,
                    s,
                )
            best_single = max(cv2.PSNR(inner(cv2.imread(str(p))), inner(truth)) for p in paths)
            rows.append((name, len(paths), mp, results, best_single))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"kept {root}")
    print_table(rows, baseline, args.runs)


def print_table(rows: list, baseline: float, runs: int) -> None:
    print(
        f"\nMedians of {runs} run(s); peak = peak RSS of the process(es); tether's includes "
        f"{baseline:.0f} MB of Python and libraries (its idle peak).\n"
    )
    print("| case | tool | wall s | peak MB | MB/MP | PSNR dB | SSIM |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, count, mp, results, best in rows:
        for tool, (wall, peak, psnr, s) in results.items():
            cells = [f"{name} ({count} frames)", tool, f"{wall:.1f}", f"{peak:.0f}", f"{peak / mp:.1f}", f"{psnr:.2f}",
                     f"{s:.4f}"]
            print("| " + " | ".join(cells) + " |")
        print(f"| {name} | best single frame | | | | {best:.2f} | |")
    print("\n| case | time ratio (target <= 0.15) | PSNR gain dB (>= 1) | MB/MP (<= 30) | MB/MP above idle |")
    print("|---|---:|---:|---:|---:|")
    for name, _, mp, results, _ in rows:
        t, r = results["tether"], results["enfuse"]
        ratio, gain, per_mp = t[0] / r[0], t[2] - r[2], t[1] / mp
        marks = [
            "ok" if ratio <= 0.15 else "MISSED",
            "ok" if gain >= 1 else "MISSED",
            "ok" if per_mp <= 30 else "MISSED",
        ]
        print(
            f"| {name} | {ratio:.3f} {marks[0]} | {gain:+.2f} {marks[1]} | {per_mp:.1f} {marks[2]} | "
            f"{(t[1] - baseline) / mp:.1f} |"
        )
    if not math.isfinite(baseline):
        print("(no interpreter baseline)")


if __name__ == "__main__":
    main()
