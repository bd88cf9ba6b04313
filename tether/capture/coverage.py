"""After a sweep: did every subject get a sharp frame, and did the focus really move between frames?

Two checks on the per-frame summaries (tile sharpness, thumbnails), both pure:

* **Coverage** — where the pre-scan found a subject's sharpest focus, the frames' positions say it
  plainly: nearer than the first frame or farther than the last (extend the range), or farther than
  the depth of field from every frame (between two frames: allow more frames). Without a pre-scan the
  curves are read: a textured tile whose sharpness is still rising at the first or last frame never
  peaked inside the sweep. Sharpness alone, relative to a tile's own best frame, cannot say a subject
  was sharp in some frame: with frames many depths of field apart every tile has a best frame, and
  none of them is sharp. So frames too far apart for the depth of field are always named.
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
from tether.capture.step_plan import SPARSE_FACTOR, PlanError, too_sparse
from tether.numbering import frame_number


@dataclass(frozen=True)
class Subjects:
    """Where a pre-scan found subjects: the ``tiles`` (rows, cols) bool holding one, and each one's sharpest
    focus in small steps (``focus`` (rows, cols), NaN where there is no subject or its peak lay at an end of
    the scan, past which its place is unknown), known to within ``margin`` small steps (half the scan's step)."""

    tiles: np.ndarray
    focus: np.ndarray
    margin: float

    @classmethod
    def from_peaks(cls, peaks: Sequence[tuple[int, int, float, bool]], grid: tuple[int, int],
                   positions: Sequence[float]) -> Subjects:
        """The subjects at ``peaks`` ((row, col, position, at an end of the scan) each) on a ``grid`` scanned at
        ``positions``."""
        tiles = np.zeros(grid, bool)
        focus = np.full(grid, np.nan)
        for row, col, position, at_edge in peaks:
            tiles[row, col] = True
            if not at_edge:
                focus[row, col] = position
        steps = np.diff(np.asarray(positions, np.float64))
        return cls(tiles, focus, float(np.median(steps)) / 2 if len(steps) else 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"tiles": self.tiles.astype(int).tolist(),
                "focus": [[None if math.isnan(v) else round(float(v), 2) for v in row] for row in self.focus],
                "margin": round(self.margin, 2)}

    @classmethod
    def from_dict(cls, data: Any) -> Subjects:
        """The subjects :meth:`to_dict` wrote; ValueError for anything else."""
        try:
            tiles = np.array(data["tiles"], bool)
            focus = np.array([[math.nan if v is None else float(v) for v in row] for row in data["focus"]])
            margin = float(data["margin"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a pre-scan's subjects ({exc})") from None
        if focus.ndim != 2 or tiles.shape != focus.shape or not 0.0 <= margin < 1e4:
            raise ValueError("not a pre-scan's subjects (a grid of tiles, their focus positions and a margin)")
        return cls(tiles, focus, margin)


@dataclass
class Coverage:
    """Warnings for the photographer, and the data behind them."""

    beyond_near: list[tuple[int, int]] = field(default_factory=list)
    beyond_far: list[tuple[int, int]] = field(default_factory=list)
    #: Tiles whose subject (where the pre-scan found it) lies farther than the depth of field from every frame.
    between: list[tuple[int, int]] = field(default_factory=list)
    never_sharp: list[tuple[int, int]] = field(default_factory=list)
    duplicates: list[tuple[int, int]] = field(default_factory=list)
    corrupt: list[int] = field(default_factory=list)
    #: The frames were too far apart for the depth of field: depths between them are sharp in no frame.
    sparse: bool = False
    #: (rows, cols) of the tile grid the tiles above are on.
    grid: tuple[int, int] = (9, 16)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"beyond_near": [list(t) for t in self.beyond_near], "beyond_far": [list(t) for t in self.beyond_far],
                "between": [list(t) for t in self.between],
                "never_sharp": [list(t) for t in self.never_sharp], "duplicates": [list(d) for d in self.duplicates],
                "corrupt": list(self.corrupt), "sparse": self.sparse, "grid": list(self.grid),
                "warnings": list(self.warnings)}

    @classmethod
    def from_dict(cls, data: Any) -> Coverage:
        """The coverage :meth:`to_dict` wrote (a burst's summary keeps it); ValueError for anything else."""
        try:
            def tiles(kind: str) -> list[tuple[int, int]]:
                return [(int(r), int(c)) for r, c in data.get(kind, [])]

            rows, cols = (int(n) for n in data["grid"])
            return cls(beyond_near=tiles("beyond_near"), beyond_far=tiles("beyond_far"), between=tiles("between"),
                       never_sharp=tiles("never_sharp"), sparse=bool(data.get("sparse", False)), grid=(rows, cols),
                       warnings=[str(w) for w in data.get("warnings", [])])
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a sweep's coverage ({exc})") from None

    def missed(self) -> np.ndarray:
        """(rows, cols) bool on :attr:`grid`: the tiles no frame shows sharp (beyond an end, between frames,
        never sharp)."""
        out = np.zeros(self.grid, bool)
        for r, c in self.beyond_near + self.beyond_far + self.between + self.never_sharp:
            if 0 <= r < self.grid[0] and 0 <= c < self.grid[1]:
                out[r, c] = True
        return out


#: How many frames in from an end the rise toward it is measured over.
END_FRAMES = 3


def check_coverage(tiles: np.ndarray, thumbs: np.ndarray, ok: np.ndarray, *, min_contrast: float = 1.6,
                   still_threshold: float = 0.25, subjects: Subjects | None = None,
                   positions: Sequence[float] | None = None, complete: bool = True, spacing: float | None = None,
                   dof: float | None = None) -> Coverage:
    """Coverage of a sweep from ``tiles`` (n, rows, cols), ``thumbs`` (n, h, w) and ``ok`` (n,) bool.

    ``subjects``: where the pre-scan found subjects (None: judge from the sweep's curves alone), placed
    against the frames' ``positions`` (n,) in small steps. A sweep that did not run to its end
    (``complete`` False) is not blamed for what lies beyond it. Corrupt frames (``ok`` False) are left
    out of every check. ``spacing`` (small steps between frames) and ``dof`` (the depth of field the
    pre-scan measured, small steps), when both are known, say whether the frames were too far apart for
    every depth between them to be sharp in some frame.
    """
    gaps = (spacing, dof) if spacing is not None and dof is not None and too_sparse(spacing, dof) else None
    result = Coverage(corrupt=[int(i) for i in np.flatnonzero(~ok)], sparse=gaps is not None,
                      grid=(int(np.shape(tiles)[1]), int(np.shape(tiles)[2])))
    good = np.flatnonzero(ok)
    if len(good) < 2:
        if result.corrupt:
            result.warnings.append(f"{len(result.corrupt)} frame(s) arrived corrupt; re-shoot for a complete sweep")
        return result
    placed = subjects if subjects is not None and positions is not None and subjects.focus.shape == result.grid \
        else None
    if placed is not None:
        _place(result, placed, np.asarray(positions, np.float64)[good], dof=dof, complete=complete)
    stack = np.asarray(tiles, np.float64)[good]
    # Frames many depths of field apart: a subject between the last two frames is sharpest at the last one as
    # surely as a subject beyond it, so the curves' ends say nothing the pre-scan's places do not say better.
    if placed is None or gaps is None:
        _read_curves(result, stack, min_contrast=min_contrast, complete=complete,
                     expected=None if placed is None else placed.tiles)
    result.duplicates = _duplicates(np.asarray(thumbs, np.float64)[good], good, still_threshold)
    _warn(result, placed is not None, gaps)
    return result


def _place(result: Coverage, subjects: Subjects, positions: np.ndarray, *, dof: float | None, complete: bool) -> None:
    """Each pre-scan subject against the frames at ``positions``: beyond an end, or between two frames.

    Sharp enough in a frame: within half the spacing :func:`too_sparse` allows (the depth of field keeps most
    of a subject's contrast up to there); beyond an end: farther out than that and the pre-scan's margin (a
    subject just outside the ends, within that margin, is not judged either way).
    """
    reach = SPARSE_FACTOR * dof / 2 if dof else 0.0
    first, last = float(positions.min()), float(positions.max())
    for r, c in zip(*np.nonzero(~np.isnan(subjects.focus)), strict=True):
        tile, focus = (int(r), int(c)), float(subjects.focus[r, c])
        if focus < first - reach - subjects.margin:
            result.beyond_near.append(tile)
        elif focus > last + reach + subjects.margin:
            if complete:
                result.beyond_far.append(tile)
        elif dof and first <= focus <= last and float(np.abs(positions - focus).min()) > reach:
            result.between.append(tile)


def _read_curves(result: Coverage, stack: np.ndarray, *, min_contrast: float, complete: bool,
                 expected: np.ndarray | None) -> None:
    """The ends of the range and the never-sharp tiles, read from the good frames' curves ``stack``."""
    best = stack.max(axis=0)
    floor = np.percentile(stack, 10, axis=0) if len(stack) >= 3 else stack.min(axis=0)
    textured = best >= min_contrast * np.maximum(floor, 1e-9)
    peak = stack.argmax(axis=0)
    last = len(stack) - 1
    # Steep is judged a few frames in from the end: a subject far beyond the end sharpens too little from
    # one fine step to the next to tell it from a peak.
    back = min(END_FRAMES, last)
    placed = set(result.beyond_near + result.beyond_far + result.between)
    rows, cols = stack.shape[1:]
    for r in range(rows):
        for c in range(cols):
            if (r, c) in placed:
                continue
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


def _warn(result: Coverage, placed: bool, gaps: tuple[float, float] | None) -> None:
    """The photographer's warnings for what ``result`` found (``placed``: the pre-scan's subjects were placed)."""
    rows, cols = result.grid
    total = rows * cols
    ends = len(result.beyond_near) + len(result.beyond_far)
    if gaps is not None and not placed and ends:
        # without the pre-scan's places the end tiles say nothing about the range; the spacing is the cause
        spacing, dof = gaps
        result.warnings.append(f"{ends} of {total} tiles were sharpest at the first or last frame, but the frames are "
                               f"{spacing:.0f} steps apart for a depth of field of about {dof:.0f}: their focus may "
                               "lie between two frames rather than beyond the range; allow more frames")
    else:
        if result.beyond_near:
            result.warnings.append(f"{len(result.beyond_near)} of {total} tiles have their sharpest focus nearer than "
                                   "the sweep's first frame; extend the range toward near")
        if result.beyond_far:
            result.warnings.append(f"{len(result.beyond_far)} of {total} tiles have their sharpest focus farther than "
                                   "the sweep's last frame; extend the range toward infinity")
        if gaps is not None:
            spacing, dof = gaps
            between = (f"{len(result.between)} of {total} tiles hold a subject between two frames, sharp in "
                       "neither: " if result.between else "")
            result.warnings.append(f"{between}the frames are {spacing:.0f} steps apart for a depth of field of about "
                                   f"{dof:.0f}, so some depths are sharp in no frame; allow more frames")
        elif result.between:
            result.warnings.append(f"{len(result.between)} of {total} tiles hold a subject between two frames, sharp "
                                   "in neither (a frame is missing there); re-shoot the gap")
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
