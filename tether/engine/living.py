"""The living picture: a burst as one self-contained HTML file that refocuses where it is tapped.

Lytro's "living pictures" needed Lytro's web service; this needs nothing but a browser. The file
(``living.html`` beside this module, a package resource) holds, as data URIs, every frame at
display size in the reference geometry (:func:`~tether.imaging.display.display_frame`) and the
depth-map stack made from them (the first view), and, as a short list, the frame a tap on each
focus-index tile picks: :meth:`~tether.imaging.refocus.FocusIndex.refocus` depends only on the
tile tapped, so the answers are worked out here, once, and a tap in the file is a lookup that
gives exactly the frame ``tether refocus`` gives for the same point. Its small inline script is
written for it; it loads nothing from anywhere.

Size: the frames are most of it. :func:`plan_living` encodes a few sample frames in each of
:data:`CANDIDATES` in turn and takes the first whose estimate for the whole file fits
:data:`MAX_BYTES` (12 MB: a 60-frame 1080p burst at 1600 px; README, "Living picture"), making the
frames smaller only when no quality does.
"""
from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import cv2
import numpy as np

from tether.errors import Cancelled
from tether.imaging import FocusIndex, ImagingError
from tether.imaging.depthmap_fusion import DepthmapFusion
from tether.imaging.display import display_frame, display_size
from tether.imaging.io import FrameSource

#: The file's bound, whatever the burst's length.
MAX_BYTES = 12 * 1024 * 1024
#: The long side of the frames in the file: sharp on a laptop, and a phone's screen.
LONG_SIDE = 1600
#: (format, quality) from best to smallest; the first whose estimate fits is used. WebP: on the
#: simulator's sweeps a frame takes about half the bytes of a JPEG of the same PSNR
#: (``benchmarks/depth.py --living``), and every browser of the last years shows it.
CANDIDATES = (("webp", 90), ("webp", 80), ("webp", 70), ("webp", 60), ("webp", 50), ("webp", 40), ("webp", 30))
#: When even the smallest candidate is too large, the frames are made smaller by this factor, up to
#: :data:`SHRINKS` times (a long burst of very detailed frames).
SHRINK, SHRINKS = 0.8, 4
_MIME = {"webp": "image/webp", "jpeg": "image/jpeg"}
_ENCODE = {"webp": (".webp", cv2.IMWRITE_WEBP_QUALITY), "jpeg": (".jpg", cv2.IMWRITE_JPEG_QUALITY)}
#: Frames encoded to estimate a plan's size, spread evenly (the ends of a sweep are the most defocused,
#: so they alone would make the estimate low).
SAMPLES = 5
_PLACEHOLDER = "/*LIVING-DATA*/"

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class LivingPlan:
    """How a living picture is made: frame ``size`` (H, W), ``fmt``, ``quality``, and ``estimate`` in bytes."""

    size: tuple[int, int]
    fmt: str
    quality: int
    estimate: int
    frames: int

    def to_dict(self) -> dict[str, Any]:
        return {"width": self.size[1], "height": self.size[0], "format": self.fmt, "quality": self.quality,
                "estimate": self.estimate, "frames": self.frames, "max_bytes": MAX_BYTES}


def encode_frame(image: np.ndarray, fmt: str, quality: int) -> bytes:
    suffix, flag = _ENCODE[fmt]
    ok, data = cv2.imencode(suffix, image, [flag, quality])
    if not ok:
        raise ImagingError(f"OpenCV could not encode a {fmt.upper()} frame")
    return data.tobytes()


def _data_uri(data: bytes, fmt: str) -> str:
    return f"data:{_MIME[fmt]};base64,{base64.b64encode(data).decode('ascii')}"


def _template() -> str:
    return resources.files("tether.engine").joinpath("living.html").read_text(encoding="utf-8")


def tap_answers(index: FocusIndex) -> list[int]:
    """Per focus-index tile, row by row, the frame a tap there picks (-1: a moving subject, no frame)."""
    rows, cols = index.grid
    h, w = index.shape
    out = []
    for r in range(rows):
        for c in range(cols):
            # the tile's centre, kept inside a partial tile at the picture's edge
            x, y = min((c + 0.5) * index.tile, w - 0.5), min((r + 0.5) * index.tile, h - 0.5)
            frame = index.refocus(x, y).frame
            out.append(-1 if frame is None else frame)
    return out


def plan_living(source: FrameSource, index: FocusIndex, *, long_side: int = LONG_SIDE,
                max_bytes: int = MAX_BYTES) -> LivingPlan:
    """The best (format, quality), at the largest size, whose estimated file fits ``max_bytes``."""
    n = len(source)
    picks = sorted({int((j + 0.5) * n / SAMPLES) for j in range(SAMPLES)})
    fixed = len(_template()) + 8 * index.grid[0] * index.grid[1] + 64 * n
    plan = None
    for attempt in range(SHRINKS + 1):
        size = display_size(source.shape, round(long_side * SHRINK ** attempt))
        samples = [display_frame(source, index, i, size) for i in picks]
        for fmt, quality in CANDIDATES:
            mean = sum(len(encode_frame(s, fmt, quality)) for s in samples) / len(samples)
            # base64 makes 4 characters of 3 bytes; the stack is one frame more
            estimate = int(fixed + 4 / 3 * mean * (n + 1))
            plan = LivingPlan(size, fmt, quality, estimate, n)
            if estimate <= max_bytes:
                return plan
    assert plan is not None
    return plan  # the smallest there is: the estimate says how far above the bound it is


def build_living(source: FrameSource, index: FocusIndex, plan: LivingPlan, *, numbers: list[int], title: str,
                 progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> bytes:
    """The living picture's HTML (UTF-8): ``numbers[k]`` is frame ``k``'s number as the burst counts it."""
    n = len(source)
    if index.frame_count != n:
        raise ImagingError("the focus index belongs to another set of frames; recompute it")
    depth = index.depth(size=plan.size)
    stack = DepthmapFusion(depth)
    frames = []
    for i in range(n):
        if cancel is not None and cancel():
            raise Cancelled("cancelled; nothing was written")
        image = display_frame(source, index, i, plan.size)
        frames.append(_data_uri(encode_frame(image, plan.fmt, plan.quality), plan.fmt))
        if stack.wants(i):
            stack.add(i, image)
        if progress is not None:
            progress(i + 1, n)
    data = {
        "title": title, "width": plan.size[1], "height": plan.size[0], "numbers": numbers,
        "tile": index.tile, "shape": list(index.shape), "cols": index.grid[1], "answers": tap_answers(index),
        "frames": frames,
        "stack": _data_uri(encode_frame(stack.result(np.dtype(np.uint8)), plan.fmt, plan.quality), plan.fmt),
    }
    # "</" cannot end the script element early inside the JSON (the only text in it that could)
    text = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    page = _template().replace("{{TITLE}}", _html_text(title)).replace(_PLACEHOLDER, text)
    return page.encode("utf-8")


def _html_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
