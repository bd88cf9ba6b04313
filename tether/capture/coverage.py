"""After a sweep: did every subject get a sharp frame, and did the focus really move between frames?

Two checks on the per-frame summaries (tile sharpness, thumbnails), both pure:

* **Coverage** — a textured tile whose sharpness is still rising at the first or last frame never
  peaked inside the sweep: its sharpest focus lies beyond the range. A tile the pre-scan found
  textured that stays flat in the sweep was never in focus at all.
* **Duplicates** — consecutive frames that differ by no more than sensor noise although the plan
  moved the focus between them (and the other steps did change the image): steps were lost (the
  lens hit its end stop, or the camera ignored the command).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tether.capture.sharpness import thumb_difference
from tether.capture.step_plan import PlanError, too_sparse
from tether.numbering import frame_number


@dataclass
class Coverage:
    """Warnings for the photographer, and the data behind them."""

    beyond_near: list[tuple[int, int]] = field(default_factory=list)
    beyond_far: list[tuple[int, int]] = field(default_factory=list)
    never_sharp: list[tuple[int, int]] = field(default_factory=list)
    duplicates: list[tuple[int, int]] = field(default_factory=list)
    corrupt: list[int] = field(default_factory=list)
    #: The frames were too far apart for the depth of field to judge the ends of the range.
    sparse: bool = False
    #: (rows, cols) of the tile grid the tiles above are on.
    grid: tuple[int, int] = (9, 16)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"beyond_near": [list(t) for t in self.beyond_near], "beyond_far": [list(t) for t in self.beyond_far],
                "never_sharp": [list(t) for t in self.never_sharp], "duplicates": [list(d) for d in self.duplicates],
                "corrupt": list(self.corrupt), "sparse": self.sparse, "grid": list(self.grid),
                "warnings": list(self.warnings)}


#: How many frames in from an end the rise toward it is measured over.
END_FRAMES = 3


def check_coverage(tiles: np.ndarray, thumbs: np.ndarray, ok: np.ndarray, *, min_contrast: float = 1.6,
                   still_threshold: float = 0.25, expected: np.ndarray | None = None,
                   complete: bool = True, spacing: float | None = None, dof: float | None = None) -> Coverage:
    """Coverage of a sweep from ``tiles`` (n, rows, cols), ``thumbs`` (n, h, w) and ``ok`` (n,) bool.

    ``expected`` (rows, cols) bool marks tiles the pre-scan found textured (None: judge from the sweep).
    A sweep that did not run to its end (``complete`` False) is not blamed for what lies beyond it.
    Corrupt frames (``ok`` False) are left out of both checks. ``spacing`` (small steps between frames)
    and ``dof`` (the depth of field the pre-scan measured, small steps), when both are known, say whether
    the frames were too far apart to tell a subject beyond an end of the sweep from one between its frames.
    """
    gaps = (spacing, dof) if spacing is not None and dof is not None and too_sparse(spacing, dof) else None
    result = Coverage(corrupt=[int(i) for i in np.flatnonzero(~ok)], sparse=gaps is not None,
                      grid=(int(np.shape(tiles)[1]), int(np.shape(tiles)[2])))
    good = np.flatnonzero(ok)
    if len(good) < 2:
        if result.corrupt:
            result.warnings.append(f"{len(result.corrupt)} frame(s) arrived corrupt; re-shoot for a complete sweep")
        return result
    stack = np.asarray(tiles, np.float64)[good]
    best = stack.max(axis=0)
    floor = np.percentile(stack, 10, axis=0) if len(stack) >= 3 else stack.min(axis=0)
    textured = best >= min_contrast * np.maximum(floor, 1e-9)
    peak = stack.argmax(axis=0)
    last = len(stack) - 1
    # Steep is judged a few frames in from the end: a subject far beyond the end sharpens too little from
    # one fine step to the next to tell it from a peak.
    back = min(END_FRAMES, last)
    rows, cols = stack.shape[1:]
    for r in range(rows):
        for c in range(cols):
            if not textured[r, c]:
                if expected is not None and expected[r, c] and complete:
                    result.never_sharp.append((r, c))
                continue
            curve = stack[:, r, c]
            # a peak at an end that is still steep there: the true peak lies beyond the sweep
            if peak[r, c] == 0 and back and curve[back] < curve[0] * 0.95:
                result.beyond_near.append((r, c))
            elif complete and peak[r, c] == last and back and curve[last - back] < curve[last] * 0.95:
                result.beyond_far.append((r, c))
    result.duplicates = _duplicates(np.asarray(thumbs, np.float64)[good], good, still_threshold)
    total = rows * cols
    if gaps is not None and (result.beyond_near or result.beyond_far):
        # Frames many depths of field apart: a subject between the last two frames is sharpest at the last one
        # as surely as a subject beyond it, so the end tiles say nothing about the range; the spacing is the cause.
        spacing, dof = gaps
        ends = len(result.beyond_near) + len(result.beyond_far)
        result.warnings.append(f"{ends} of {total} tiles were sharpest at the first or last frame, but the frames are "
                               f"{spacing:.0f} steps apart for a depth of field of about {dof:.0f}: their focus may "
                               "lie between two frames rather than beyond the range; allow more frames")
    else:
        if result.beyond_near:
            result.warnings.append(f"{len(result.beyond_near)} of {total} tiles were sharpest at the first frame: "
                                   "their sharpest focus lies nearer than the sweep; extend the range toward near")
        if result.beyond_far:
            result.warnings.append(f"{len(result.beyond_far)} of {total} tiles were sharpest at the last frame: "
                                   "their sharpest focus lies farther than the sweep; extend the range toward infinity")
    if result.never_sharp:
        result.warnings.append(f"{len(result.never_sharp)} tiles the pre-scan found detailed were never sharp in the "
                               "sweep; run the pre-scan again (did the scene or the camera move?)")
    if result.duplicates:
        pairs = ", ".join(f"{frame_number(a)}-{frame_number(b)}" for a, b in result.duplicates[:5])
        pairs += " ..." if len(result.duplicates) > 5 else ""
        result.warnings.append(f"{len(result.duplicates)} pair(s) of consecutive frames are identical ({pairs}): the "
                               "focus did not move between them (lost steps or the end stop); re-shoot")
    if result.corrupt:
        listed = ", ".join(str(frame_number(i)) for i in result.corrupt[:5])
        result.warnings.append(f"{len(result.corrupt)} frame(s) arrived corrupt ({listed}); "
                               "they are kept and marked; re-shoot for a complete sweep")
    return result


def rising_at_end(tiles: np.ndarray, *, min_contrast: float = 1.6, rise: float = 0.05, back: int = 3) -> int:
    """How many textured tiles of ``tiles`` (n, rows, cols) are sharpest at the last frame and still rising.

    Rising: ``rise`` sharper than ``back`` frames earlier (fine steps change little per frame).
    """
    stack = np.asarray(tiles, np.float64)
    if len(stack) < 3:
        return 0
    best = stack.max(axis=0)
    floor = np.percentile(stack, 10, axis=0)
    textured = best >= min_contrast * np.maximum(floor, 1e-9)
    earlier = stack[max(0, len(stack) - 1 - back)]
    rising = (stack.argmax(axis=0) == len(stack) - 1) & (earlier < stack[-1] * (1.0 - rise))
    return int(np.count_nonzero(rising & textured))


def _duplicates(thumbs: np.ndarray, index: np.ndarray, still_threshold: float) -> list[tuple[int, int]]:
    """Consecutive frame pairs (burst indexes) that differ by no more than sensor noise.

    Only judged when the sweep's typical step visibly changes the image (median difference at
    least twice the noise threshold): with steps finer than the eye of a small live view, every
    pair looks alike and nothing can be told apart.
    """
    diffs = np.array([thumb_difference(thumbs[k], thumbs[k + 1]) for k in range(len(thumbs) - 1)])
    if len(diffs) == 0 or float(np.median(diffs)) < 2.0 * still_threshold:
        return []
    return [(int(index[k]), int(index[k + 1])) for k in np.flatnonzero(diffs < still_threshold)]


@dataclass(frozen=True)
class ExtraSweep:
    """A short sweep that fixes a burst's coverage: ``near`` to ``far`` (small steps), ``step`` small steps apart."""

    near: int
    far: int
    step: int
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"range": [self.near, self.far], "step": self.step, "why": self.why}


def typical_gap(positions: Sequence[int]) -> int:
    """The burst's usual distance between neighbouring frames (small steps, at least 1)."""
    gaps = np.diff(np.sort(np.asarray(positions, np.float64)))
    gaps = gaps[gaps > 0]
    return max(1, round(float(np.median(gaps)))) if len(gaps) else 1


def extend_sweep(positions: Sequence[int], toward: str, steps: int, *, travel: float | None = None) -> ExtraSweep:
    """Frames ``steps`` beyond the burst's near or far end (``toward``), as far apart as its own frames.

    ``positions``: the burst's focus positions; ``travel``: the lens's far stop, where known.
    """
    gap = typical_gap(positions)
    count = max(2, math.ceil(steps / gap))
    if toward == "near":
        first = min(positions)
        if first - gap < 0:
            raise PlanError("the sweep already starts at the lens's near end stop: there is nothing nearer")
        return ExtraSweep(max(0, first - gap * count), first - gap, gap, f"{steps} steps toward near")
    last = max(positions)
    far = last + gap * count
    if travel is not None:
        if last + gap > travel:
            raise PlanError("the sweep already ends at the lens's far end stop: there is nothing farther")
        far = min(far, math.floor(travel))
    return ExtraSweep(last + gap, far, gap, f"{steps} steps toward infinity")


def gap_sweep(positions: Sequence[int], after: int, *, dof: float | None = None) -> ExtraSweep:
    """Frames between the ``after``-th and the next frame in focus order, at most a depth of field
    (``dof`` small steps; a third of the gap when unknown) apart."""
    order = sorted(positions)
    if not 0 <= after < len(order) - 1:
        # the API sends the frame's index (after=5), messages count frames from 1 (frame 6): both are said
        raise PlanError(f"there is no gap after frame {frame_number(after)} (frame index {after}): the burst's "
                        f"{len(order)} frames have gaps after frames 1 to {len(order) - 1} "
                        f"(frame indices 0 to {len(order) - 2})")
    a, b = order[after], order[after + 1]
    wanted = min(dof, (b - a) / 3) if dof else (b - a) / 3
    step = max(1, math.floor(wanted))
    first, second = frame_number(after), frame_number(after + 1)
    if b - a < 2 * step or a + step > b - step:
        raise PlanError(f"frames {first} and {second} are {b - a} steps apart: no frame fits between them")
    return ExtraSweep(a + step, b - step, step, f"the gap between frames {first} and {second}")
