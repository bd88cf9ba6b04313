"""Focus-stacking benchmark: tether against its peers, on focus sweeps of known truth from two renderers.

    .venv/bin/python benchmarks/stack.py [--runs 3] [--cases sim-12mp,...] [--focus-stack BIN] [--baseline DIR]
                                         [--dir DIR] [--keep]

Each case is a focus sweep with focus breathing, saved as JPEG as a camera would deliver it, from
one of two renderers that share no code:

    sim-12mp   tether's simulator (thin lens, disk blur, occlusion, ISO 400, JPEG 95): macro, 20 x 4000x3000
    sim-3mp    the same: product scene, 50 x 2000x1500
    sim-1mp    the same: product scene, 16 x 1200x900 (a quick check)
    sim-2mp-3, sim-2mp-6, sim-2mp-10, sim-6mp-3, ..., sim-24mp-10
               short stacks (issue 17): product scene, 3, 6 and 10 frames of 1800x1200, 3000x2000
               and 6000x4000; "short" names all nine, "speed" the nine and sim-12mp and sim-3mp
    ind-12mp   tests/imaging/independent_render.py (disk * Gaussian PSF per channel, chromatic aberration,
               vignetting that follows focus, Poisson-Gaussian noise, 0.2 % breathing a frame, JPEG 88):
               20 x 4000x3000
    ind-3mp    the same: 20 x 2000x1500
    ind-1mp    the same: 16 x 1200x900 (a quick check)

The tools, each run as its authors advise for a focus stack:

    tether          tether stack FILES --out tether.tif
    enfuse          align_image_stack -m -a al_ --use-given-order FILES          (hugin-tools)
                    enfuse --exposure-weight=0 --saturation-weight=0 --contrast-weight=1
                           --contrast-window-size=5 [--hard-mask] -o enfuse.tif al_*.tif
                    (-m: optimise the field of view, for lenses that breathe; enfuse's manual
                    recommends the hard mask for focus stacks, its default is a soft mask: both run,
                    the better one is reported)
    focus-stack     focus-stack --no-opencl --threads=2 --output=focus-stack.png FILES
                    (with --focus-stack PATH: a built binary, or its source checkout, built with cmake
                    into PATH/build unless already there)
    tether (NAME)   with --baseline DIR: tether stack from another checkout DIR of tether (say main's, from
                    git worktree add), for before-and-after figures taken in the same runs; it is not
                    counted as a peer

Scoring (tests/imaging/registration.py): the truth is registered onto each result (ECC, full
homography, coarse to fine) and the transform found is printed, rotation, shift of the centre and
scale; the truth is warped with Lanczos (bilinear would blur it where the transform falls between
pixels, and lift the score of a result a fraction of a pixel off); PSNR and SSIM are then taken
where it has pixels and the result does too (its alpha, if any), minus a 3 % border. The tools pick
different reference frames and crop or rescale differently: scored without registration, a result
would be judged on its geometry, not its sharpness. tether keeps frame 0's geometry, which is the
truth's, so its transform should be the identity. Beside the tools, two rows computed from the
truth: the best single frame, and the *oracle bound* (tests/imaging/oracle.py): per 8 px tile, the
frame (registered with the renderer's true breathing) or blend of two neighbouring frames closest to
the truth. No selection from the frames can come far above it, so where it is within 1 dB of the
best peer no stacker that selects or blends can beat that peer by 1 dB: the frames, not the stacker,
bound the case.

Wall time and peak memory (the whole process: wall clock around it and its peak RSS from
wait4; the larger of align_image_stack's and enfuse's) are medians over --runs runs, the tools taking
turns within each run (first in one run, last in the next), so that a machine whose load changes
slows them alike; "tether / focus-stack" is the median of the runs' ratios. --no-enfuse leaves the
slowest peer out (for timing runs of many cases). enfuse and align_image_stack come from Debian (installed
with apt-get if missing); focus-stack is built from its source (github PetteriAimonen/focus-stack).
Targets (issue 13): PSNR >= the best peer's + 1 dB on every case; peak memory <= 30 MB per megapixel;
tether's result within 0.02 deg and 0.3 px of the reference frame's geometry. Issue 17: tether's wall
time <= 0.5 x focus-stack's on every case.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the scoring and the second renderer live in tests/

from tests.imaging.independent_render import render_stack
from tests.imaging.oracle import oracle_stack
from tests.imaging.registration import Score, breathing_truth, score
from tether.camera.sim import optics
from tether.camera.sim.sensor import NoiseSource, noise_sigma
from tether.camera.sim.truth import SceneTruth


@dataclass(frozen=True)
class Case:
    renderer: str          # "sim" or "ind"
    size: tuple[int, int]  # (width, height)
    frames: int
    scene: str = ""        # the simulator's scene


CASES = {
    "sim-12mp": Case("sim", (4000, 3000), 20, "macro"),
    "sim-3mp": Case("sim", (2000, 1500), 50, "product"),
    "sim-1mp": Case("sim", (1200, 900), 16, "product"),
    "ind-12mp": Case("ind", (4000, 3000), 20),
    "ind-3mp": Case("ind", (2000, 1500), 20),
    "ind-1mp": Case("ind", (1200, 900), 16),
}
#: Short stacks of small to large frames (issue 17), where fixed costs weigh most.
SHORT_SIZES = {"2mp": (1800, 1200), "6mp": (3000, 2000), "24mp": (6000, 4000)}
CASES.update({f"sim-{size}-{n}": Case("sim", dims, n, "product") for size, dims in SHORT_SIZES.items()
              for n in (3, 6, 10)})
GROUPS = {"short": [name for name in CASES if name.count("-") == 2]}
GROUPS["speed"] = [*GROUPS["short"], "sim-12mp", "sim-3mp"]
DEFAULT_CASES = "sim-12mp,sim-3mp,ind-12mp,ind-3mp"
#: The independent renderer's breathing: magnification added per frame (the issue's example).
IND_BREATHING = 0.002
ENFUSE_ARGS = ["--exposure-weight=0", "--saturation-weight=0", "--contrast-weight=1", "--contrast-window-size=5"]


@dataclass
class Measure:
    wall: float
    peak_mb: float


@dataclass
class Outcome:
    tool: str
    wall: float
    peak_mb: float
    score: Score
    walls: list[float] = field(default_factory=list)


#: One run of a tool on a case: for each result it makes, its label, the run's measure and its file.
Runner = Callable[[list[Path], Path], list[tuple[str, Measure, Path]]]


def ensure_reference() -> None:
    """Install enfuse and align_image_stack with apt-get when missing (the benchmark's set-up only)."""
    if shutil.which("enfuse") and shutil.which("align_image_stack"):
        return
    apt = ["apt-get"] if os.geteuid() == 0 else ["sudo", "apt-get"]
    print("installing enfuse and hugin-tools with apt-get ...", flush=True)
    subprocess.run([*apt, "install", "-y", "-q", "enfuse", "hugin-tools"], check=True, stdout=subprocess.DEVNULL)


def render_case(case: Case, folder: Path) -> tuple[list[Path], np.ndarray, list[np.ndarray]]:
    """Write the case's sweep as JPEGs into ``folder``; return the paths, the truth (frame 0's geometry) and
    per frame the (3, 3) homography from frame 0's pixels to the same point in that frame (the true breathing)."""
    if case.renderer == "ind":
        stack = render_stack(case.size, case.frames, breathing=IND_BREATHING)
        return stack.write(folder), stack.truth, stack.geometry
    truth = SceneTruth(case.scene)
    targets = [o.focus_position for o in truth.objects]
    positions = np.linspace(min(targets) - 6, max(targets) + 6, case.frames)
    cache = optics.LayerCache()
    sensor = NoiseSource(0)
    paths = []
    for k, position in enumerate(positions):
        image = optics.render(case.scene, float(position), case.size, breathing=True, cache=cache)
        path = folder / f"frame{k:03d}.jpg"
        cv2.imwrite(str(path), sensor.add(image, noise_sigma("400")), [cv2.IMWRITE_JPEG_QUALITY, 95])
        paths.append(path)
    geometry = [np.vstack([breathing_truth(float(p), float(positions[0]), case.size), [0, 0, 1]]) for p in positions]
    return paths, truth.all_in_focus(case.size, focus_position=float(positions[0])), geometry


# Runs the command from a small process: Linux children inherit the peak RSS of whoever forked
# them, and this benchmark holds large images while it runs.
_LAUNCHER = """
import os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(os.waitstatus_to_exitcode(status), time.perf_counter() - start, usage.ru_maxrss, file=sys.stderr)
"""


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> Measure:
    """Run ``cmd`` to completion (in ``env``, default this one's); wall time and the child's peak RSS (MB)."""
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], cwd=cwd, stderr=subprocess.PIPE, text=True,
                          env=env)
    lines = done.stderr.strip().splitlines()
    code, wall, peak_kb = lines[-1].split()
    if int(code) != 0:
        raise SystemExit(f"{cmd[0]} failed ({code}):\n" + "\n".join(lines[-20:]))
    return Measure(float(wall), int(peak_kb) / 1024)


def read_result(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """A tool's picture as 8-bit BGR, and the mask of the pixels it delivered (from its alpha, if any)."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise SystemExit(f"{path}: missing or unreadable")
    if image.dtype == np.uint16:
        image = np.clip(np.rint(image / 257.0), 0, 255).astype(np.uint8)
    valid = image[..., 3] > 0 if image.ndim == 3 and image.shape[2] == 4 else None
    return np.ascontiguousarray(image[..., :3]), valid


def scored(path: Path, truth: np.ndarray) -> Score:
    image, valid = read_result(path)
    return score(image, truth, valid)


def run_tether(paths: list[Path], folder: Path, checkout: Path | None = None) -> list[tuple[str, Measure, Path]]:
    """tether stack, this checkout's or (``checkout``) another's, labelled "tether (its folder's name)"."""
    out = folder / ("tether.tif" if checkout is None else "tether-baseline.tif")
    cmd = [sys.executable, "-m", "tether", "stack", *map(str, paths), "--out", str(out)]
    if checkout is None:
        return [("tether", run(cmd, folder), out)]
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    return [(f"tether ({checkout.name})", run(cmd, folder, env), out)]


def run_enfuse(paths: list[Path], folder: Path) -> list[tuple[str, Measure, Path]]:
    """align_image_stack -m, then enfuse with its default soft mask and with the hard mask."""
    for old in folder.glob("al_*.tif"):
        old.unlink()
    align = run(["align_image_stack", "-m", "-a", "al_", "--use-given-order", *map(str, paths)], folder)
    aligned = sorted(str(p) for p in folder.glob("al_*.tif"))
    made = []
    for mask, extra in (("soft", []), ("hard", ["--hard-mask"])):
        file = folder / f"enfuse-{mask}.tif"
        fuse = run(["enfuse", *ENFUSE_ARGS, *extra, "-o", file.name, *aligned], folder)
        made.append((f"align_image_stack + enfuse ({mask} mask)", Measure(align.wall + fuse.wall,
                                                                         max(align.peak_mb, fuse.peak_mb)), file))
    return made


def run_focus_stack(binary: Path, paths: list[Path], folder: Path) -> list[tuple[str, Measure, Path]]:
    out = folder / "focus-stack.png"
    cmd = [str(binary), "--no-opencl", "--threads=2", f"--output={out}", *map(str, paths)]
    return [("focus-stack", run(cmd, folder), out)]


def focus_stack_binary(path: Path) -> Path:
    """``path`` if it is the built binary; else ``path`` is focus-stack's source checkout, built (once) with cmake."""
    if path.is_file():
        return path
    binary = path / "build" / "focus-stack"
    if not binary.is_file():
        print(f"building focus-stack in {path / 'build'} ...", flush=True)
        subprocess.run(["cmake", "-S", str(path), "-B", str(path / "build"), "-DCMAKE_BUILD_TYPE=Release"], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", str(path / "build"), "-j", "2"], check=True, stdout=subprocess.DEVNULL)
    return binary


def run_tools(runners: list[Runner], paths: list[Path], folder: Path, runs: int, truth: np.ndarray) -> list[Outcome]:
    """Every tool ``runs`` times, taking turns (first in one run, last in the next); medians, scores of the last run.

    tether's outcome comes first, then the peers' (enfuse's two masks the better first).
    """
    measures: dict[str, list[Measure]] = {}
    files: dict[str, Path] = {}
    for r in range(runs):
        for runner in (runners if r % 2 == 0 else runners[::-1]):
            for label, measure, file in runner(paths, folder):
                measures.setdefault(label, []).append(measure)
                files[label] = file
    outcomes = [Outcome(label, statistics.median(m.wall for m in ms), statistics.median(m.peak_mb for m in ms),
                        scored(files[label], truth), [m.wall for m in ms]) for label, ms in measures.items()]
    return sorted(outcomes, key=lambda o: (o.tool != "tether", not o.tool.startswith("align"), -o.score.psnr))


def best_single_frame(paths: list[Path], truth: np.ndarray) -> float:
    """The best PSNR of any one frame, each scored as the tools are (truth registered onto it)."""
    best = 0.0
    for path in paths:
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        best = max(best, score(frame, truth).psnr)
    return best


def oracle_bound(paths: list[Path], geometry: list[np.ndarray], truth: np.ndarray) -> Score:
    """What the best selection from these frames scores, scored as the tools are: per 8 px tile the frame, or
    blend of two neighbouring frames, closest to the truth (tests/imaging/oracle.py; 16 px tiles score less)."""
    frames = (cv2.imread(str(path), cv2.IMREAD_COLOR) for path in paths)
    return score(oracle_stack(frames, geometry, truth, tile=8), truth)


def interpreter_baseline() -> float:
    """Peak RSS (MB) of ``tether stack --help``: what Python and the libraries the command loads cost."""
    # Not ``tether --version``: numpy and OpenCV are loaded only by the commands that use them.
    return run([sys.executable, "-m", "tether", "stack", "--help"], Path.cwd()).peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each tool per case (medians)")
    parser.add_argument("--cases", default=DEFAULT_CASES,
                        help="comma-separated: " + ",".join([*CASES, *GROUPS]) + " (a group names several)")
    parser.add_argument("--focus-stack", type=Path,
                        help="focus-stack's source checkout (or a built binary): adds it as a peer")
    parser.add_argument("--baseline", type=Path,
                        help="another checkout of tether (say main's): also run, for before-and-after times")
    parser.add_argument("--no-enfuse", action="store_true", help="leave align_image_stack + enfuse out")
    parser.add_argument("--dir", type=Path, help="working folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the frames and results")
    args = parser.parse_args()
    names = [case for n in args.cases.split(",") for case in GROUPS.get(n, [n])]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join([*CASES, *GROUPS])}")
    runners: list[Runner] = [run_tether]
    if not args.no_enfuse:
        ensure_reference()
        runners.append(run_enfuse)
    if args.focus_stack:
        runners.append(partial(run_focus_stack, focus_stack_binary(args.focus_stack.resolve())))
    checkouts = [Path(__file__).resolve().parents[1]]
    if args.baseline:
        checkouts.append(args.baseline.resolve())
        runners.insert(1, partial(run_tether, checkout=checkouts[-1]))
    root = Path(tempfile.mkdtemp(prefix="stack-bench-", dir=args.dir))
    # tether's bytecode, as an installed tether has it (pip compiles it), also where the environment
    # says not to write it (PYTHONDONTWRITEBYTECODE): otherwise each run would compile it first.
    subprocess.run([sys.executable, "-m", "compileall", "-q", *(str(c / "tether") for c in checkouts)],
                   check=True, env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})
    baseline = interpreter_baseline()
    rows = []
    try:
        for name in names:
            case = CASES[name]
            folder = root / name
            folder.mkdir()
            print(f"[{name}] rendering {case.frames} frames of {case.size[0]}x{case.size[1]} ...", flush=True)
            paths, truth, geometry = render_case(case, folder)
            print(f"[{name}] {len(runners)} tool(s) taking turns, {args.runs} run(s) ...", flush=True)
            outcomes = run_tools(runners, paths, folder, args.runs, truth)
            mp = case.size[0] * case.size[1] / 1e6
            rows.append((name, case, mp, outcomes, best_single_frame(paths, truth),
                         oracle_bound(paths, geometry, truth)))
            print_table(rows[-1:], baseline, args.runs)  # as it goes: a long run stopped early keeps its cases
            if not args.keep:  # a case's frames and results are not needed past it (24 MP ones are large)
                shutil.rmtree(folder)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"kept {root}")
    print_table(rows, baseline, args.runs)


def print_table(rows: list, baseline: float, runs: int) -> None:
    print(f"\nMedians of {runs} run(s), the tools taking turns; peak = peak RSS of the process(es); tether's "
          f"includes {baseline:.0f} MB of Python and libraries (its idle peak). Transform: what registers the truth "
          "(frame 0's geometry) onto the result.\n")
    print("| case | tool | wall s | peak MB | MB/MP | PSNR dB | SSIM | transform |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for name, case, mp, outcomes, best, oracle in rows:
        label = f"{name} ({case.frames} x {case.size[0]}x{case.size[1]})"
        for o in outcomes:
            cells = [label, o.tool, f"{o.wall:.2f}", f"{o.peak_mb:.0f}", f"{o.peak_mb / mp:.1f}",
                     f"{o.score.psnr:.2f}", f"{o.score.ssim:.4f}", o.score.registration.describe()]
            print("| " + " | ".join(cells) + " |")
        print(f"| {label} | best single frame | | | | {best:.2f} | | |")
        print(f"| {label} | oracle bound (from the truth, not a tool: per 8 px tile the frame or blend of two "
              f"neighbouring frames closest to it) | | | | {oracle.psnr:.2f} | {oracle.ssim:.4f} | |")
    print("\n| case | PSNR gain over the best peer (>= +1 dB) | oracle bound - best peer (< 1: no selection "
          "gains 1 dB) | oracle bound - tether | MB/MP (<= 30) | tether's geometry (<= 0.02 deg, 0.3 px) | "
          "time / align_image_stack + enfuse | time / focus-stack (<= 0.5) | baseline / focus-stack |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|")
    for name, _, mp, outcomes, _, oracle in rows:
        tether = outcomes[0]
        baseline = next((o for o in outcomes[1:] if o.tool.startswith("tether")), None)
        peers = [o for o in outcomes[1:] if o is not baseline]
        best_peer = max(peers, key=lambda o: o.score.psnr, default=None)  # (none: --no-enfuse, no --focus-stack)
        gain_cell = "- (no peer ran)" if best_peer is None else (
            f"{tether.score.psnr - best_peer.score.psnr:+.2f} vs {best_peer.tool} "
            f"{'ok' if tether.score.psnr - best_peer.score.psnr >= 1 else 'MISSED'}")
        room = "-" if best_peer is None else f"{oracle.psnr - best_peer.score.psnr:+.2f}"
        reg = tether.score.registration
        shift = float(np.hypot(*reg.shift))
        geometry_ok = abs(reg.rotation_deg) <= 0.02 and shift <= 0.3
        ratios = {}
        for prefix in ("align_image_stack", "focus-stack"):
            peer = next((o for o in peers if o.tool.startswith(prefix)), None)
            if peer is not None:  # the median of the runs' own ratios: each run's tools met the same load
                ratios[prefix] = _ratio(tether, peer)
                if baseline is not None:
                    ratios["baseline " + prefix] = _ratio(baseline, peer)
        enfuse = f"{ratios['align_image_stack']:.3f}" if "align_image_stack" in ratios else "-"
        versus = ratios.get("focus-stack")
        fs = "-" if versus is None else f"{versus:.2f} {'ok' if versus <= 0.5 else 'MISSED'}"
        before = ratios.get("baseline focus-stack")
        print(f"| {name} | {gain_cell} | {room} | {oracle.psnr - tether.score.psnr:+.2f} | "
              f"{tether.peak_mb / mp:.1f} {'ok' if tether.peak_mb / mp <= 30 else 'MISSED'} | "
              f"{reg.rotation_deg:+.3f} deg, {shift:.2f} px {'ok' if geometry_ok else 'MISSED'} | {enfuse} | {fs} | "
              f"{'-' if before is None else f'{before:.2f}'} |")


def _ratio(tool: Outcome, peer: Outcome) -> float:
    """The median of the runs' own ratios of wall times: each run's tools met the same load."""
    return statistics.median(t / p for t, p in zip(tool.walls, peer.walls, strict=True))


if __name__ == "__main__":
    main()
