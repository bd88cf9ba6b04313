"""Measuring how many small focus steps make one coarse (large or medium) step, from the live view alone.

Drivers rarely know the size of their step classes (Panasonic's "Near 1" and "Near 2", Canon's
"Near 1/2/3" differ per lens). After the coarse pre-scan (large steps from the near end stop) the
motor is homed again, driven to two coarse steps before the most focus-sensitive sample, and then
moved in small steps. Each frame is compared with the pre-scan's frames at the next few coarse
positions by per-tile sharpness (log), which changes fastest where the comparison is made. The
ratio (and the offset where the fine pass began) that best explains all these comparisons at
once is found by a grid search, then refined by a line through each reference's own best match
(to a fraction of a step with a parabola). Both passes approach from the near
side, so the backlash is the same in both and cancels.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tether.camera.types import FocusDirection, Frame, StepClass
from tether.capture.motion import Motor
from tether.capture.sharpness import FrameSummary

#: A fit is believed when the matched frames are, on average, this close relative to the median.
MATCH_COST = 0.5


@dataclass(frozen=True)
class Calibration:
    """Small steps per large step, and what the fine pass saw (positions in small steps from the stop)."""

    ratio: float
    positions: list[float]
    summaries: list[FrameSummary]
    frames: int


def sensitive_index(curves: np.ndarray, textured: np.ndarray) -> int:
    """Index 1 <= k <= n - 2 of the coarse sample whose tile sharpness differs most from sample k - 1.

    The last sample is left out: it may sit at the far end stop, where a move is clamped.
    """
    logs = np.log(np.maximum(curves[:, textured], 1e-9))
    change = np.abs(np.diff(logs, axis=0)).mean(axis=1)[: max(1, len(curves) - 2)]
    return int(np.argmax(change)) + 1


def tile_distance(a: np.ndarray, b: np.ndarray, textured: np.ndarray) -> float:
    """Mean |log sharpness difference| over the textured tiles."""
    return float(np.mean(np.abs(np.log(np.maximum(a[textured], 1e-9)) - np.log(np.maximum(b[textured], 1e-9)))))


def refine_minimum(values: list[float], i: int) -> float:
    """Sub-sample position of the minimum at ``i`` by a parabola through its neighbours."""
    if 0 < i < len(values) - 1:
        a, b, c = values[i - 1], values[i], values[i + 1]
        curvature = a - 2 * b + c
        if curvature > 0:
            return i + max(-0.5, min(0.5, 0.5 * (a - c) / curvature))
    return float(i)


def calibrate_step(motor: Motor, step: StepClass, curves: np.ndarray, textured: np.ndarray, *, max_small: int = 400,
                   references: int = 4, on_frame: Callable[[Frame], object] = lambda frame: None) -> Calibration | None:
    """Home, then measure small steps per ``step`` against the coarse ``curves`` (n, rows, cols) taken at that step.

    The fine pass starts two coarse steps before the most sensitive sample and is matched against up
    to ``references`` coarse samples after its start, all at once (:func:`fit_ratio`), so the random
    error of any one step (and of where the fine pass began) averages out.
    ``motor`` must be able to home by count (its position known). Returns None when the scene has no
    texture to compare or no clear match was found within ``max_small`` small steps.
    """
    if len(curves) < 2 or not textured.any():
        return None
    last = max(1, len(curves) - 2)    # the last sample may be clamped at the far stop
    start = max(0, min(sensitive_index(curves, textured) - 2, last - references))
    refs = list(range(start + 1, min(start + references, last) + 1))
    motor.home(known_far=motor.position)
    motor.drive(FocusDirection.FAR, step, start)
    distances: list[list[float]] = [[] for _ in refs]
    summaries: list[FrameSummary] = []
    steps = [ref - start for ref in refs]
    fit: tuple[float, float, float, bool] | None = None
    for j in range(max_small + 1):
        if j:
            motor.drive(FocusDirection.FAR, StepClass.SMALL)
        frame, summary = motor.look()
        on_frame(frame)
        summaries.append(summary)
        for k, ref in enumerate(refs):
            distances[k].append(tile_distance(summary.tiles, curves[ref], textured))
        if j >= 6 and j % 3 == 0:
            fit = fit_ratio(steps, [np.asarray(d) for d in distances])
            # done once a clear best explanation has seen every reference's match, with room after it
            if fit is not None and _convincing(fit) and j >= fit[2] + steps[-1] * fit[1] + max(4.0, 0.3 * fit[1]):
                break
    if fit is None or not _convincing(fit):
        return None
    ratio = refine_ratio(steps, [np.asarray(d) for d in distances], fit[1], fit[2])
    if ratio < 1.0:
        return None
    # the fine frames sat at ``start`` coarse steps plus j small ones
    positions = [start * ratio + j for j in range(len(summaries))]
    return Calibration(ratio, positions, summaries, len(summaries))


#: Small steps driven back toward near before the play is measured: more than any lens's backlash.
REVERSE_STEPS = 12
#: Frames taken past the largest play measured, so that even then the focus is seen moving.
MOVING_FRAMES = 8


def measure_backlash(motor: Motor, cal: Calibration, textured: np.ndarray, *, reverse: int = REVERSE_STEPS,
                     on_frame: Callable[[Frame], object] = lambda frame: None) -> tuple[float | None, int]:
    """(the play of the focus drive in small steps, or None if unclear; the frames it took).

    The fine pass's frames lie one small step apart where sharpness changes fastest, so they say where
    the focus is. Driven ``2 * reverse`` small steps back toward near (away from the pass's end, which
    may sit clamped at the far stop) and then toward infinity one small step per frame, the motor first
    takes up the play, with the focus standing still, and then moves it a step per frame. The play is
    the count of standing frames that, with where the run began, best matches the run to the fine
    pass: a whole run is matched, as one frame alone is easily mistaken for its mirror across a peak.
    """
    run = reverse + MOVING_FRAMES
    if len(cal.summaries) < 2 * reverse + run or not textured.any():
        return None, 0
    motor.drive(FocusDirection.NEAR, StepClass.SMALL, 2 * reverse)
    seen: list[FrameSummary] = []
    for j in range(run):
        if j:
            motor.drive(FocusDirection.FAR, StepClass.SMALL)
        frame, summary = motor.look()
        on_frame(frame)
        seen.append(summary)
    distances = np.array([[tile_distance(s.tiles, fine.tiles, textured) for fine in cal.summaries] for s in seen])
    distances /= np.maximum(np.median(distances, axis=1, keepdims=True), 1e-9)
    frames = np.arange(run)
    best: tuple[float, int] | None = None
    for play in range(reverse + 1):
        moved = np.maximum(0, frames - play)        # focus steps made by each frame of the run
        for begin in range(len(cal.summaries) - int(moved[-1])):
            cost = float(distances[frames, begin + moved].mean())
            if best is None or cost < best[0]:
                best = (cost, play)
    if best is None or best[0] > MATCH_COST:
        return None, run
    return float(best[1]), run


def fit_ratio(steps: list[int], distances: list[np.ndarray]) -> tuple[float, float, float, bool] | None:
    """(cost, ratio, offset, all references seen) best explaining every reference's distance curve at once.

    Reference k (``steps[k]`` coarse steps after the fine pass began) should match at small step
    ``offset + steps[k] * ratio``. A grid search over ratio (1.5 % apart) and offset (a quarter step
    apart, within the few steps the start can be off) minimises the mean of the curves, each scaled
    by its median, at those points: one reference's stray dip (sharpness is symmetric about a peak,
    so a frame before a tile's peak can look like one after it) cannot outvote the others. At least
    two references (or all, when fewer) must fall inside the data.
    """
    length = len(distances[0])
    grid = np.arange(length, dtype=np.float64)
    curves = [d / max(float(np.median(d)), 1e-9) for d in distances]
    need = min(2, len(steps))
    best: tuple[float, float, float, bool] | None = None
    ratio = 1.0
    while steps[0] * ratio <= length - 1:
        reach = max(3.0, 0.3 * ratio)
        offsets = np.arange(-reach, reach + 1e-9, 0.25)
        total = np.zeros_like(offsets)
        count = np.zeros_like(offsets)
        for k, curve in zip(steps, curves, strict=True):
            x = offsets + k * ratio
            inside = (x >= 0) & (x <= length - 1)
            total += np.where(inside, np.interp(x, grid, curve), 0.0)
            count += inside
        ok = count >= need
        if ok.any():
            mean = np.where(ok, total / np.maximum(count, 1), np.inf)
            i = int(np.argmin(mean))
            if best is None or mean[i] < best[0]:
                best = (float(mean[i]), ratio, float(offsets[i]), bool(count[i] == len(steps)))
        ratio *= 1.015
    return best


def _convincing(fit: tuple[float, float, float, bool]) -> bool:
    """All references seen, and the matched frames clearly closer than typical (half the median distance)."""
    return fit[3] and fit[0] < MATCH_COST


def refine_ratio(steps: list[int], distances: list[np.ndarray], ratio: float, offset: float) -> float:
    """The slope of a line through each reference's own best match near where (ratio, offset) puts it."""
    matches = []
    for k, d in zip(steps, distances, strict=True):
        x = offset + k * ratio
        lo, hi = max(0, int(x - 0.15 * ratio) - 1), min(len(d) - 1, math.ceil(x + 0.15 * ratio) + 1)
        if hi > lo:
            i = lo + int(np.argmin(d[lo:hi + 1]))
            if lo < i < hi:
                matches.append((k, refine_minimum(list(d), i)))
    if len(matches) >= 2:
        return float(np.polyfit([m[0] for m in matches], [m[1] for m in matches], 1)[0])
    return ratio
