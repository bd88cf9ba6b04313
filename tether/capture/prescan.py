"""The automatic pre-scan: find the nearest and farthest subject by stepping focus through the scene.

1. Drive to the near end stop (large steps until the live view stops changing).
2. Step toward infinity in large steps, measuring sharpness per tile (16 x 9) on each live-view
   frame, until the far end stop (the view stops changing) or until every tile is well past its
   peak and nothing is getting sharper.
3. Each tile's peak (:func:`tether.capture.step_plan.tile_peaks`); the nearest and farthest
   subject peaks, widened by half a large step for the estimate's uncertainty, are the range.

Options: a fixed range (no scan), or "from here to infinity": the range starts at the current
focus, found again in the scan by matching the live view taken before homing, and runs to the
far end of the scan.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tether.camera.base import Camera
from tether.camera.errors import Unsupported
from tether.camera.types import FocusDirection, Frame, StepClass
from tether.capture.calibrate import calibrate_step, measure_backlash
from tether.capture.coverage import Subjects
from tether.capture.motion import Motor
from tether.capture.options import PrescanOptions
from tether.capture.sharpness import FrameSummary, thumb_difference
from tether.capture.step_plan import RANGE_BY_HAND, PlanError, StepScale, TilePeak, dof_spacing, sweep_range, tile_peaks


@dataclass
class PrescanResult:
    """The range found (small steps from the near end stop), the tiles' curves and peaks, and the cost."""

    near: int
    far: int
    scale: StepScale
    positions: list[float] = field(default_factory=list)
    curves: np.ndarray | None = None          # (n, rows, cols)
    peaks: list[TilePeak] = field(default_factory=list)
    dof: float | None = None                  # frame spacing (small steps) for overlapping depth of field
    frames: int = 0
    seconds: float = 0.0
    far_stop: float | None = None             # counted position of the far end of the scan
    reached_far_stop: bool = False
    warnings: list[str] = field(default_factory=list)

    def subjects(self) -> Subjects | None:
        """Where the scan found subjects (the tiles, each one's sharpest focus); None without curves."""
        if self.curves is None:
            return None
        rows, cols = self.curves.shape[1:]
        peaks = [(p.row, p.col, p.position, p.at_edge) for p in self.peaks if p.subject]
        return Subjects.from_peaks(peaks, (rows, cols), self.positions)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, for the job result and the UI: range, per-tile peaks and curves."""
        curves = [] if self.curves is None else np.round(self.curves.astype(np.float64), 3).transpose(1, 2, 0).tolist()
        return {
            "range": [self.near, self.far], "unit": "small focus steps from the near end stop",
            "scale": self.scale.to_dict(), "dof_spacing": None if self.dof is None else round(self.dof, 2),
            "positions": [round(p, 2) for p in self.positions],
            "grid": None if self.curves is None else list(self.curves.shape[1:]),
            "curves": curves,
            "peaks": [p.to_dict() for p in self.peaks],
            "subjects": sum(1 for p in self.peaks if p.subject),
            "frames": self.frames, "seconds": round(self.seconds, 3),
            "far_stop": self.far_stop, "reached_far_stop": self.reached_far_stop, "warnings": list(self.warnings),
        }


def saved_subjects(prescan: dict[str, Any]) -> Subjects:
    """The subjects of a pre-scan's result as :meth:`PrescanResult.to_dict` wrote it; ValueError if it is not one."""
    try:
        rows, cols = (int(n) for n in prescan["grid"])
        peaks = [(int(p["row"]), int(p["col"]), float(p["position"]), bool(p["at_edge"]))
                 for p in prescan["peaks"] if p["subject"]]
        positions = [float(p) for p in prescan["positions"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a pre-scan's result ({exc})") from None
    if not all(0 <= r < rows and 0 <= c < cols for r, c, _, _ in peaks):
        raise ValueError("a pre-scan's subject lies outside its grid")
    return Subjects.from_peaks(peaks, (rows, cols), positions)


Progress = Callable[[int, int, float | None], None]


#: A coarse scan with fewer samples than this over the whole range is repeated with medium steps.
MIN_SAMPLES = 10


@dataclass
class _Scan:
    """The coarse scan: frames one ``step`` apart from the near stop, as counts of that step."""

    step: StepClass
    summaries: list[FrameSummary]
    steps_taken: int                 # coarse steps driven since homing (the counted far end)
    reached_stop: bool


def run_prescan(camera: Camera, options: PrescanOptions, *, check: Callable[[], None] = lambda: None,
                progress: Progress = lambda done, total, pos: None,
                on_frame: Callable[[Frame], object] = lambda f: None) -> tuple[PrescanResult, Motor]:
    """Scan ``camera``'s focus range; returns the result and the motor (homed, position counted)."""
    caps = camera.info.capabilities
    if not (caps.focus_drive and caps.live_view):
        # without live view a sweep still works from a range given by hand; without a focus drive nothing does
        raise Unsupported(caps.focus_drive_note or f"{camera.info.model} cannot drive focus with live view, "
                          "so it cannot pre-scan",
                          hint=f"give the sweep's range by hand: {RANGE_BY_HAND}" if caps.focus_drive else
                          "sweeps need a camera whose focus tether can drive; use another camera")
    began = time.monotonic()
    scale = StepScale()
    motor = Motor(camera, scale, settle_frames=options.settle_frames, check=check)
    if options.range is not None:
        near, far = options.range
        return PrescanResult(near, far, scale, seconds=time.monotonic() - began), motor

    here: FrameSummary | None = None
    if options.from_here:
        frame, here = motor.look()
        on_frame(frame)
    motor.home()
    budget = _Budget(options.max_frames, progress, motor)
    scan = _coarse_scan(motor, StepClass.LARGE, options, budget, on_frame)
    if scan.reached_stop and len(scan.summaries) < MIN_SAMPLES:
        # a coarse lens (Panasonic's "large" is four of its big steps): too few samples to find
        # peaks between; scan again with medium steps
        motor.coarse = StepClass.MEDIUM
        motor.home(known_far=motor.position)
        scan = _coarse_scan(motor, StepClass.MEDIUM, options, budget, on_frame)
    summaries = scan.summaries
    if len(summaries) < 2:
        raise PlanError("the pre-scan saw fewer than two focus positions",
                        hint="check that the camera drives focus (manual focus mode, a lens that allows it)")
    curves = np.stack([s.tiles for s in summaries])
    counts = np.arange(len(summaries), dtype=np.float64)       # in coarse steps from the stop
    warnings: list[str] = []
    coarse_peaks = tile_peaks(counts, curves, min_contrast=options.min_contrast)
    textured = np.array([p.subject for p in coarse_peaks]).reshape(curves.shape[1:])
    cal = calibrate_step(motor, scan.step, curves, textured, on_frame=on_frame)
    fine_peaks: list[TilePeak] = []
    if cal is not None:
        budget.frames += cal.frames
        backlash, used = measure_backlash(motor, cal, textured, on_frame=on_frame)
        budget.frames += used
        if backlash is None:
            backlash = 0.0
            warnings.append("could not measure the focus drive's play; positions may read a few steps too far")
        scale = replace(_measured_scale(scan.step, cal.ratio), backlash=backlash)
        motor.scale = scale
        motor.position = cal.positions[-1]  # at most: the reversal above ended nearer
        fine = np.stack([s.tiles for s in cal.summaries])
        # both passes were counted from the stop with the play still in them: where the focus was is that much less
        fine_peaks = tile_peaks(np.asarray(cal.positions) - backlash, fine, min_contrast=options.min_contrast)
    else:
        warnings.append(f"could not measure the size of a {scan.step.value} focus step; "
                        f"assuming {scale.size(scan.step):g} small steps")
    size = scale.size(scan.step)
    positions = [max(0.0, k * size - scale.backlash) for k in counts]
    peaks = tile_peaks(np.asarray(positions), curves, min_contrast=options.min_contrast)
    highest = positions[-1]
    far_stop = scan.steps_taken * size - scale.backlash
    near, far = sweep_range(peaks, margin=size / 2, lowest=0.0, highest=highest + size / 2)
    if here is not None:  # "from here to infinity": the current focus, found again in the scan, to the far end
        match = int(np.argmin([thumb_difference(here.thumb, s.thumb) for s in summaries]))
        near = round(positions[match])
        far = max(round(highest), near)
    edge = [p for p in peaks if p.subject and p.at_edge and p.position >= highest]
    if edge and not scan.reached_stop:
        warnings.append(f"{len(edge)} tile(s) were still getting sharper at the end of the scan; "
                        "the farthest subject may lie beyond the range")
    # the fine pass resolves the depth of field far better than coarse steps can
    dof = dof_spacing([p for p in fine_peaks if not p.at_edge]) or dof_spacing(peaks)
    result = PrescanResult(near, far, scale, positions, curves, peaks, dof, budget.frames,
                           time.monotonic() - began, far_stop, scan.reached_stop, warnings)
    return result, motor


class _Budget:
    """Counts live-view frames against the pre-scan's maximum and reports progress."""

    def __init__(self, maximum: int, progress: Progress, motor: Motor) -> None:
        self.maximum, self.progress, self.motor = maximum, progress, motor
        self.frames = motor.frames_read

    def take(self) -> bool:
        self.frames = self.motor.frames_read
        self.progress(min(self.frames, self.maximum), self.maximum, self.motor.position)
        return self.frames < self.maximum


def _coarse_scan(motor: Motor, step: StepClass, options: PrescanOptions, budget: _Budget,
                 on_frame: Callable[[Frame], object]) -> _Scan:
    """From the near stop toward infinity in ``step`` steps until the far stop or nothing farther."""
    summaries: list[FrameSummary] = []
    still, taken = 0, 0
    while True:
        frame, summary = motor.look()
        on_frame(frame)
        summaries.append(summary)
        if not budget.take():
            return _Scan(step, summaries, taken, False)
        if len(summaries) >= 2:
            diff = thumb_difference(summaries[-1].thumb, summaries[-2].thumb)
            still = still + 1 if diff < motor.still_threshold else 0
            if still >= 2:  # the last two frames repeat the stop: their positions were clamped, not real
                return _Scan(step, summaries[:-2], taken, True)
            if _nothing_farther(summaries, options.min_contrast):
                return _Scan(step, summaries, taken, False)
        motor.drive(FocusDirection.FAR, step)
        taken += 1


def _measured_scale(step: StepClass, ratio: float) -> StepScale:
    """The scale with ``step`` measured as ``ratio`` small steps; the other class is unknown (NaN)."""
    if step is StepClass.LARGE:
        return StepScale(math.nan, ratio, source="measured")
    return StepScale(ratio, math.nan, source="measured")


def _nothing_farther(summaries: list[FrameSummary], min_contrast: float, *, after: int = 4) -> bool:
    """True once every textured tile is well past its peak for ``after`` frames and none is rising."""
    if len(summaries) < after + 3:
        return False
    stack = np.stack([s.tiles for s in summaries]).astype(np.float64)
    best = stack.max(axis=0)
    floor = np.percentile(stack, 10, axis=0)
    textured = best >= min_contrast * np.maximum(floor, 1e-9)
    if not textured.any():
        return False
    recent = stack[-after:]
    peak_index = stack.argmax(axis=0)
    past = (peak_index < len(stack) - after) & (recent.max(axis=0) < floor + 0.35 * (best - floor))
    return bool(np.all(past[textured]))
