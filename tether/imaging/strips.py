"""Horizontal strips: pass 2 of the pipeline makes its picture a band of rows at a time.

A strip's state (a fusion's accumulators, the warped rows of each frame) is a strip's, not a
frame's; see docs/stacking.md, "Strips", for how the sizes below were chosen.
"""
from __future__ import annotations

from dataclasses import dataclass

#: Pass 2 works in strips of at most this many pixels, margins included, so that its state
#: (about 11 bytes a pixel) and per-frame images (about 12) stay small beside the interpreter.
#: A 1080p frame stays one strip (splitting it would save little beside the interpreter's fixed
#: cost).
STRIP_PIXELS = 2_500_000
#: ... and of at most this share of the frame: every strip also carries the whole decoded frame
#: and the finished rows of the picture (3 bytes a pixel each), so at 3 MP two strips peaked at
#: 34 MB per megapixel and four at 30, for about 0.8 s a strip at 50 frames (docs/stacking.md, "Strips").
STRIP_SHARE = 0.4
#: Frames of this size and up are done in one strip: the interpreter's fixed ~50 MB is then a
#: small share of issue 6's target (30 MB per megapixel, met in one strip from about 8 MP), and
#: each further strip would decode every frame again (~55 ms a frame at 12 MP).
ONE_STRIP_PIXELS = 10_000_000
#: The peak of the whole process, in bytes a pixel of the frame, that a method may plan its strips
#: for (issue 6's target: 30 MB per megapixel) ...
TARGET_BYTES = 30.0
#: ... of which this is the interpreter with numpy and OpenCV (``tether stack --help``'s peak).
INTERPRETER_BYTES = 50_000_000


@dataclass(frozen=True)
class Strip:
    """Reference rows ``start``..``stop`` are processed; rows ``keep_start``..``keep_stop`` of them are kept."""

    start: int
    stop: int
    keep_start: int
    keep_stop: int


def fitting_budget(shape: tuple[int, int], *, frame_bytes: float, strip_bytes: float, unit: int = 1,
                   margin: int = 0) -> int | None:
    """The ``budget`` for :func:`plan_strips` of the fewest strips whose pass 2 stays within :data:`TARGET_BYTES`.

    The peak is estimated as :data:`INTERPRETER_BYTES`, plus ``frame_bytes`` a pixel of the frame
    (what every strip carries), plus ``strip_bytes`` a pixel of a strip, margins included. Fewer
    strips mean fewer decodes of every frame and fewer margin rows warped and fused twice. None
    when no number of strips fits (small frames, where the interpreter alone takes most of the target).
    """
    h, w = shape
    for count in range(1, max(1, h // unit) + 1):
        rows = -(-h // (count * unit)) * unit
        height = rows + 2 * margin if count > 1 else h
        if _peak(shape, height, frame_bytes, strip_bytes) <= TARGET_BYTES * h * w:
            return h * w if count == 1 else height * w
    return None


def within_target(shape: tuple[int, int], strips: list[Strip], *, frame_bytes: float, strip_bytes: float) -> bool:
    """Whether pass 2 in ``strips`` stays within :data:`TARGET_BYTES` (peak estimated as in :func:`fitting_budget`)."""
    h, w = shape
    return _peak(shape, max(s.stop - s.start for s in strips), frame_bytes, strip_bytes) <= TARGET_BYTES * h * w


def _peak(shape: tuple[int, int], strip_rows: int, frame_bytes: float, strip_bytes: float) -> float:
    h, w = shape
    return INTERPRETER_BYTES + h * w * frame_bytes + min(h, strip_rows) * w * strip_bytes


def plan_strips(shape: tuple[int, int], *, unit: int = 1, margin: int = 0, budget: int | None = None) -> list[Strip]:
    """Horizontal strips covering (H, W) of at most ``budget`` pixels each (default: see :data:`STRIP_SHARE`).

    Strips start at multiples of ``unit`` rows and take ``margin`` rows (a multiple of
    ``unit``) of context from each neighbour; the kept parts tile the frame, the largest strips
    first. A strip is never less than ``unit`` rows plus margins, whatever the budget; frames
    of :data:`ONE_STRIP_PIXELS` and up are one strip.
    """
    h, w = shape
    if h * w <= (STRIP_PIXELS if budget is None else budget) or h * w >= ONE_STRIP_PIXELS:
        return [Strip(0, h, 0, h)]
    budget = min(STRIP_PIXELS, int(STRIP_SHARE * h * w)) if budget is None else budget
    return even_strips(shape, budget=budget, unit=unit, margin=margin)


def even_strips(shape: tuple[int, int], *, budget: int, unit: int = 1, margin: int = 0) -> list[Strip]:
    """:func:`plan_strips`' strips of (H, W) = ``shape`` whatever its size: as few strips of about equal height
    as keep each within ``budget`` pixels (margins included), largest first."""
    h, w = shape
    most = max(unit, (budget // w - 2 * margin) // unit * unit)
    count = -(-h // most)
    rows = -(-h // (count * unit)) * unit  # equal strips, rounded up to the unit
    strips = [Strip(max(0, k - margin), min(h, k + rows + margin), k, min(h, k + rows)) for k in range(0, h, rows)]
    # Largest first: the finished rows of the picture pile up as strips are done, so the edge
    # strips (one margin, or a remainder) come last.
    return sorted(strips, key=lambda s: s.start - s.stop)
