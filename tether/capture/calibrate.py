"""Measuring how many small focus steps make one large step, from the live view alone.

Drivers rarely know the size of their step classes (Panasonic's "Near 1" and "Near 2", Canon's
"Near 1/2/3" differ per lens). After the coarse pre-scan (large steps from the near end stop) the
motor is homed again, driven to the large-step position just before the most focus-sensitive
one, and then moved in small steps. The small step at which the live view best matches the
pre-scan's frame at the next large-step position is the ratio: frames are compared by their
per-tile sharpness (log), which changes fastest exactly where the comparison is made. The
minimum is refined to a fraction of a step with a parabola. Both passes approach from the near
side, so the backlash is the same in both and cancels.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tether.camera.types import FocusDirection, StepClass
from tether.capture.motion import Motor
from tether.capture.sharpness import FrameSummary


@dataclass(frozen=True)
class Calibration:
    """Small steps per large step, and what the fine pass saw (positions in small steps from the stop)."""

    ratio: float
    positions: list[float]
    summaries: list[FrameSummary]
    frames: int


def sensitive_index(curves: np.ndarray, textured: np.ndarray) -> int:
    """Index k >= 1 of the coarse sample whose tile sharpness differs most from sample k - 1."""
    logs = np.log(np.maximum(curves[:, textured], 1e-9))
    change = np.abs(np.diff(logs, axis=0)).mean(axis=1)
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


def calibrate_large_step(motor: Motor, curves: np.ndarray, textured: np.ndarray, *, max_small: int = 300,
                         on_frame=lambda frame: None) -> Calibration | None:
    """Home, then measure small steps per large step against the coarse ``curves`` (n, rows, cols).

    ``motor`` must be able to home by count (its position known). Returns None when the scene
    has no texture to compare or no clear match was found within ``max_small`` small steps.
    """
    if len(curves) < 2 or not textured.any():
        return None
    ref = sensitive_index(curves, textured)
    motor.home(known_far=motor.position)
    motor.drive(FocusDirection.FAR, StepClass.LARGE, ref - 1)
    target = curves[ref]
    distances: list[float] = []
    summaries: list[FrameSummary] = []
    frames = 0
    best = 0
    for j in range(max_small + 1):
        if j:
            motor.drive(FocusDirection.FAR, StepClass.SMALL)
        frame, summary = motor.look()
        on_frame(frame)
        frames += 1
        summaries.append(summary)
        distances.append(tile_distance(summary.tiles, target, textured))
        best = int(np.argmin(distances))
        # stop once the minimum is well behind us: a quarter of the way again, at least 4 steps
        if best > 0 and j - best >= max(4, math.ceil(best * 0.25)) and distances[-1] > distances[best] * 1.3:
            break
    else:
        return None
    ratio = refine_minimum(distances, best)
    if ratio < 1.0:
        return None
    # the fine frames sat at (ref - 1) large steps plus j small ones
    positions = [(ref - 1) * ratio + j for j in range(len(summaries))]
    return Calibration(ratio, positions, summaries, frames)
