"""From per-tile contrast curves to a sweep range and a step plan. Pure functions, no camera.

Positions are in *small focus steps* counted from the near end stop, always approached from
the near side, and mean where the focus is: the play the motor takes up after homing against the
stop (the backlash, measured by the pre-scan) is not counted as travel.
A :class:`StepScale` says how many small steps one step of each class is.

Method (see docs/step-plan.md):

* Each tile's contrast curve is modelled as a Gaussian around its peak: the peak position and
  width come from a parabola through the logarithm of the three samples around the maximum
  (Caruana's Gaussian fit), after subtracting the curve's floor (sensor noise).
* A tile is a subject when its peak stands clear of its floor (``min_contrast``) and of the
  scene's strongest tile (``min_relative``); flat, textureless tiles and noise are not.
* The range runs from the nearest to the farthest subject peak, widened by ``margin`` on each
  side for the uncertainty of the peak estimate.
* Consecutive frames are spaced so that a subject halfway between two frames still keeps
  ``keep`` (e.g. 80 %) of its peak contrast: for a Gaussian of width sigma that spacing is
  ``2 * sigma * sqrt(2 ln(1/keep))``; sigma is a low quantile of the subjects' widths, so the
  thinnest depth of field decides.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tether.camera.types import StepClass
from tether.errors import InvalidInput

CLASSES = (StepClass.SMALL, StepClass.MEDIUM, StepClass.LARGE)


class PlanError(InvalidInput):
    """The options asked for a sweep that cannot be planned."""


@dataclass(frozen=True)
class StepScale:
    """Size of each step class in small steps (small is 1 by definition)."""

    medium: float = 4.0              # NaN: unknown, the class is not used
    large: float = 16.0
    source: str = "default"          # "measured" (by a pre-scan) or "default"
    #: Small steps the motor turns after a reversal before the focus moves (measured by a pre-scan; 0: unknown).
    backlash: float = 0.0

    def usable(self) -> tuple[StepClass, ...]:
        """The classes whose size is known, smallest first."""
        return tuple(c for c in CLASSES if not math.isnan(self.size(c)))

    def size(self, step: StepClass | str) -> float:
        step = StepClass(step)
        return 1.0 if step is StepClass.SMALL else self.medium if step is StepClass.MEDIUM else self.large

    def to_dict(self) -> dict[str, Any]:
        def known(size: float) -> float | None:
            return None if math.isnan(size) else round(size, 3)

        return {"small": 1.0, "medium": known(self.medium), "large": known(self.large), "source": self.source,
                "backlash": round(self.backlash, 2)}

    @classmethod
    def from_dict(cls, data: Any) -> StepScale:
        """The scale :meth:`to_dict` wrote (a size of None: unknown); ValueError for anything else."""
        try:
            sizes = [math.nan if data[k] is None else float(data[k]) for k in ("medium", "large")]
            backlash, source = float(data["backlash"]), str(data["source"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a step scale ({exc})") from None
        if not all(math.isnan(v) or 1.0 < v < 1e4 for v in sizes) or not 0.0 <= backlash < 1e3:
            raise ValueError(f"step sizes {sizes} and play {backlash} are not a lens's")
        return cls(medium=sizes[0], large=sizes[1], source=source, backlash=backlash)


@dataclass(frozen=True)
class TilePeak:
    """Where one tile is sharpest: position (small steps), Gaussian width sigma, height above floor."""

    row: int
    col: int
    position: float
    sigma: float
    height: float
    floor: float
    contrast: float
    subject: bool
    at_edge: bool = False            # the maximum is the first or last sample: the true peak may lie beyond

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "col": self.col, "position": round(self.position, 2), "sigma": round(self.sigma, 2),
                "fwhm": round(2.3548 * self.sigma, 2), "height": float(self.height), "floor": float(self.floor),
                "contrast": round(self.contrast, 3), "subject": self.subject, "at_edge": self.at_edge}


def curve_peak(positions: np.ndarray, values: np.ndarray) -> tuple[float, float, float, float, bool]:
    """(peak position, sigma, height above floor, floor, at_edge) of one contrast curve.

    ``positions`` (n,) increasing, ``values`` (n,) non-negative. Sub-sample position and width
    come from a parabola through log(value - floor) at the maximum and its two neighbours.
    """
    x = np.asarray(positions, np.float64)
    v = np.asarray(values, np.float64)
    n = len(v)
    floor = float(np.percentile(v, 10)) if n >= 3 else float(v.min())
    i = int(np.argmax(v))
    height = float(v[i] - floor)
    spacing = float(np.median(np.diff(x))) if n > 1 else 1.0
    if n < 3 or height <= 0:
        return float(x[i]), spacing, max(height, 0.0), floor, True
    at_edge = i == 0 or i == n - 1
    tiny = max(height * 1e-3, 1e-12)
    j = min(max(i, 1), n - 2)
    a, b, c = (math.log(max(v[k] - floor, tiny)) for k in (j - 1, j, j + 1))
    curvature = a - 2 * b + c
    if curvature < 0:
        offset = 0.5 * (a - c) / curvature
        offset = max(-1.0, min(1.0, offset))
        sigma = spacing / math.sqrt(-curvature)
    else:  # no maximum in these three samples (flat or rising): no sub-sample refinement
        offset, sigma = float(i - j), spacing * 2
    position = float(x[j] + offset * spacing)
    # a peak between samples cannot be trusted to be narrower than about a quarter step
    sigma = max(sigma, spacing * 0.25)
    return position, sigma, height, floor, at_edge


def tile_peaks(positions: np.ndarray, curves: np.ndarray, *, min_contrast: float = 1.6,
               min_relative: float = 0.002) -> list[TilePeak]:
    """Peaks of every tile of ``curves`` (n, rows, cols) sampled at ``positions`` (n,), row by row."""
    curves = np.asarray(curves, np.float64)
    if curves.ndim != 3 or len(curves) != len(positions):
        raise PlanError(f"curves must be (n, rows, cols) with n = {len(positions)} positions, got {curves.shape}")
    found = []
    for r in range(curves.shape[1]):
        for c in range(curves.shape[2]):
            found.append((r, c, *curve_peak(positions, curves[:, r, c])))
    strongest = max((f[4] for f in found), default=0.0)
    peaks = []
    for r, c, pos, sigma, height, floor, edge in found:
        contrast = (floor + height) / floor if floor > 0 else (math.inf if height > 0 else 1.0)
        subject = contrast >= min_contrast and height >= min_relative * strongest and height > 0
        peaks.append(TilePeak(r, c, pos, sigma, height, floor, contrast, subject, edge))
    return peaks


#: Where a sweep's range is given by hand, when no pre-scan can find it (`tether prescan` has no range).
RANGE_BY_HAND = "tether sweep --range NEAR:FAR, or Near and Far on the Post Focus page"


def sweep_range(peaks: list[TilePeak], *, margin: float, lowest: float = 0.0,
                highest: float | None = None) -> tuple[int, int]:
    """(near, far) in small steps covering every subject peak with ``margin`` on either side."""
    subjects = [p for p in peaks if p.subject]
    if not subjects:
        raise PlanError("the pre-scan found nothing to focus on: every tile is flat or noise",
                        hint=f"add light or texture, or give the range by hand ({RANGE_BY_HAND})")
    near = min(p.position for p in subjects) - margin
    far = max(p.position for p in subjects) + margin
    near = max(lowest, near)
    if highest is not None:
        far = min(highest, far)
    return math.floor(near), math.ceil(max(far, near))


def dof_spacing(peaks: list[TilePeak], *, keep: float = 0.8, quantile: float = 0.25) -> float | None:
    """Largest frame spacing (small steps) keeping ``keep`` of every subject's peak contrast; None if unknown."""
    sigmas = [p.sigma for p in peaks if p.subject and not p.at_edge]
    if not sigmas:
        return None
    sigma = float(np.quantile(sigmas, quantile))
    return 2.0 * sigma * math.sqrt(2.0 * math.log(1.0 / keep))


#: Frames more than this many depths of field apart leave depths that are sharp in no frame.
SPARSE_FACTOR = 1.5


def too_sparse(spacing: float, dof: float) -> bool:
    """Frames ``spacing`` small steps apart are too far apart for a depth of field of ``dof`` small steps."""
    return spacing > dof * SPARSE_FACTOR


@dataclass(frozen=True)
class StepPlan:
    """Where the sweep starts, which step class it drives (``count`` of them between frames), and how many frames."""

    start: int
    step_class: StepClass
    count: int
    spacing: float                   # small steps between frames
    frames: int
    reason: str = ""
    warnings: tuple[str, ...] = field(default=())
    #: Where the frames lie against the range when it is not end to end (they start before Near, or end
    #: short of Far), and why: a photographer who typed the range reads it.
    note: str = ""

    @property
    def end(self) -> float:
        return self.start + self.spacing * (self.frames - 1)

    def positions(self) -> list[int]:
        """Planned focus position of every frame, in small steps from the near end stop."""
        return [round(self.start + i * self.spacing) for i in range(self.frames)]

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": round(self.end, 2), "step_class": self.step_class.value,
                "count": self.count, "spacing": round(self.spacing, 3), "frames": self.frames, "reason": self.reason,
                "warnings": list(self.warnings), "note": self.note}


def realize(spacing: float, scale: StepScale, *, at_least: bool = False) -> tuple[StepClass, int]:
    """The (class, count) whose travel is the largest not above ``spacing`` (or the smallest not below it).

    Among travels within 10 % of the best one the biggest class wins: fewer motor commands,
    less accumulated step error.
    """
    options: list[tuple[float, StepClass, int]] = []
    for step in scale.usable():
        size = scale.size(step)
        count = math.ceil(spacing / size - 1e-9) if at_least else math.floor(spacing / size + 1e-9)
        if count >= 1:
            options.append((abs(count * size - spacing), step, count))
    if not options:
        return StepClass.SMALL, 1
    best = min(error for error, _, _ in options)
    good = [(step, count) for error, step, count in options if error <= best + 0.1 * spacing + 1e-9]
    return good[-1]


def _placement(near: int, far: int, start: int, frames: int, spacing: float) -> str:
    """Where ``frames`` frames ``spacing`` apart from ``start`` lie against [near, far] when not end to end
    (by a whole step or more), and why; "" when they are."""
    first, last = start, round(start + spacing * (frames - 1))
    gaps = f"{frames} frames {spacing:g} steps apart"
    if first < near:
        return (f"the first frame is at {first}, {_steps(near - first)} before Near ({near}): {gaps} span "
                f"{last - first} steps, more than the range, and the last is kept at Far ({far}) rather than past it")
    if last < far:
        return (f"the last frame is at {last}, {_steps(far - last)} short of Far ({far}): {gaps} from Near "
                f"({near}); one more would need a start before the near end stop, or an end past Far")
    return ""


def _steps(count: int) -> str:
    return f"{count} step{'s' if count > 1 else ''}"


def plan_steps(near: int, far: int, scale: StepScale, *, dof: float | None, target_frames: int | None = None,
               max_frames: int | None = None, step_class: StepClass | str | None = None,
               step_count: int | None = None) -> StepPlan:
    """Plan a sweep over [near, far]: explicit step > target frame count > depth-of-field overlap, capped by max."""
    if far < near:
        raise PlanError(f"the sweep range {near}:{far} is reversed", hint="give it as NEAR:FAR with NEAR <= FAR")
    if target_frames is not None and target_frames < 2:
        raise PlanError(f"a sweep needs at least 2 frames, not {target_frames}")
    if max_frames is not None and max_frames < 2:
        raise PlanError(f"the frame maximum must be at least 2, not {max_frames}")
    length = float(far - near)
    warnings: list[str] = []
    if step_class is not None or step_count is not None:
        step = StepClass(step_class or StepClass.SMALL)
        count = int(step_count or 1)
        if count < 1:
            raise PlanError(f"the step count must be at least 1, not {count}")
        reason = f"{count} {step.value} step(s) per frame, as asked"
    else:
        if target_frames is not None:
            wish = length / (target_frames - 1) if length > 0 else 1.0
            reason = ""  # said once the frame count is known: it may not be the one asked for
            step, count = realize(wish, scale, at_least=True)  # never more frames than asked
        elif dof is not None:
            wish = dof
            reason = f"frames {dof:.1f} small steps apart so neighbouring depths of field overlap"
            step, count = realize(wish, scale)
        else:
            step, count = StepClass.SMALL, 1
            reason = "depth of field unknown: one small step per frame"
        if max_frames is not None and length / (scale.size(step) * count) + 1 > max_frames + 1e-9:
            step, count = realize(length / (max_frames - 1), scale, at_least=True)
            reason += f", thinned to at most {max_frames} frames"
    spacing = scale.size(step) * count
    frames = math.ceil(length / spacing - 1e-9) + 1 if length > 0 else 1
    frames = max(frames, 2)
    start, note = near, ""
    if max_frames is not None and frames > max_frames:
        frames = max_frames
        warnings.append(f"the range needs {math.ceil(length / spacing) + 1} frames at this step; "
                        f"only {max_frames} are taken, so the far end is not reached")
    else:
        # the frames span a whole number of gaps, usually a little more than the range: start that much
        # nearer rather than drive past Far (toward the lens's far stop)
        start = near - math.ceil(spacing * (frames - 1) - length - 1e-9)
        if start < 0:  # the near stop is in the way: one frame fewer, ending less than a gap short of Far
            start, frames = near, max(2, frames - 1)
        note = _placement(near, far, start, frames, spacing)
    if target_frames is not None and not reason:
        reason = (f"{frames} frames, as asked" if frames == target_frames else
                  f"{frames} frames ({target_frames} asked: the gap must be a whole number of steps)")
    if dof is not None and too_sparse(spacing, dof):
        warnings.append(f"frames are {spacing:.0f} steps apart but the depth of field is about {dof:.0f}: "
                        "some depths will not be sharp in any frame; allow more frames")
    return StepPlan(start, step, count, spacing, frames, reason, tuple(warnings), note)
