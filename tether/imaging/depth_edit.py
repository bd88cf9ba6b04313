"""Depth-based editing: select by distance, then blur, brighten or darken, desaturate the selection.

What light-field cameras offered and a focus sweep also knows: how far away each pixel is (the
smoothed fractional index map, :meth:`~tether.imaging.refocus.FocusIndex.depth`). A selection is a
range of that depth, ``near``..``far`` in frames, with a feathered edge: it falls from 1 to 0 over
``feather`` frames beyond either end, so its border follows the index map's own gradual change at
an object's rim instead of cutting a hard line; where the map only slopes from a near object to a
farther one, the in-between depths go with the farther one (:func:`on_slopes`). The depth map is made of
the focus index's tiles, so that border runs in straight cuts a tile or two long across a round
subject; :func:`follow_edges` moves it onto the picture's own edges. The adjustments then act on the
selection (the subject) or on the rest (the background), weighted by it.

Pure functions on arrays; (H, W[, 3]) images, any of uint8 / uint16 / float32. A blur is given as
a fraction of the picture's long side, so a preview at screen size and the export at full size
look alike.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from tether.checks import checked, number, one_of
from tether.errors import InvalidInput
from tether.imaging.aperture import aperture_index_map

#: What the adjustments act on: the depth range selected, or everything else.
TARGETS = ("background", "subject")
#: The widest virtual aperture offered (a far wider one only repeats the sweep's farthest frame).
MIN_F_NUMBER = 0.7
#: The largest blur, as a fraction of the picture's long side.
MAX_BLUR = 0.05
#: How far around a pixel (a fraction of the picture's long side) the depths on either side of an edge are
#: looked for: wider than the slope the depth map has at an object's edge (a tile or two of the focus index).
EDGE_REACH = 0.015
#: The least rise (frames) taken as a slope when the selection has no feather.
MIN_STEP = 0.25
#: How near (in tiles of the focus index) the depth map's border a pixel may be on either side of an object's
#: outline, and how far around it the picture's colours are read to decide which (docs/stacking.md, "Depth
#: edits": the measurements behind them).
UNSURE_TILES, EDGE_TILES = 1.5, 4.0
#: The guided filter's regularisation (colours in 0..1): below the contrast of an object's outline against
#: what is behind it, so that the border follows outlines, not the texture inside them.
EDGE_EPS = 1e-5
#: The fitted values from one half minus this to one half plus this become the selection's soft edge.
EDGE_RAMP = 0.25
#: Holes and islands of the fitted selection smaller than this (in tiles) across are filled and removed.
SPECK_TILES = 0.4
#: The full-size work of :func:`follow_edges` is done in bands of rows of about this many pixels (plus the margin
#: their windows need), so that it holds a few bytes a pixel beyond its result however large the picture.
BAND_PIXELS = 1 << 18


@dataclass(frozen=True)
class DepthEdit:
    """The Depth page's settings, as stored in a burst and replayed at full size.

    ``focus`` (x, y) as fractions (0..1) of the picture, None: no refocus (the depth-map stack, all
    sharp); ``f_number`` the virtual aperture (None: as captured); ``captured_f_number`` the one shot
    at (None: the burst's own). ``near``, ``far`` the selected depth range in frames (None: nothing
    selected), ``feather`` its soft edge in frames; ``target`` one of :data:`TARGETS`; ``blur`` a
    fraction of the long side, ``brightness`` in stops, ``desaturate`` 0 (colour kept) to 1 (grey).
    """

    focus: tuple[float, float] | None = None
    f_number: float | None = None
    captured_f_number: float | None = None
    near: float | None = None
    far: float | None = None
    feather: float = 1.0
    target: str = "background"
    blur: float = 0.0
    brightness: float = 0.0
    desaturate: float = 0.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> DepthEdit:
        """Settings from JSON (a request, a stored burst): unknown keys and bad values are InvalidInput."""
        given = checked(data, _RULES, "depth edit")
        focus = given.pop("focus", None)
        edit = cls(focus=None if focus is None else (float(focus[0]), float(focus[1])), **given)
        if (edit.near is None) != (edit.far is None):
            raise InvalidInput("a depth range needs both near and far")
        if edit.near is not None and edit.far is not None and edit.near > edit.far:
            raise InvalidInput(f"near ({edit.near:g}) must not be beyond far ({edit.far:g})")
        return edit

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["focus"] = None if self.focus is None else list(self.focus)
        return out

    @property
    def selects(self) -> bool:
        return self.near is not None and self.far is not None

    @property
    def adjusts(self) -> bool:
        return self.selects and (self.blur > 0 or self.brightness != 0 or self.desaturate > 0)


def _focus(name: str, value: Any) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise InvalidInput(f"{name} must be [x, y], fractions of the picture from 0 to 1, not {value!r}")
    return number(0.0, 1.0)(f"{name}[0]", value[0]), number(0.0, 1.0)(f"{name}[1]", value[1])


_RULES = {
    "focus": _focus, "f_number": number(MIN_F_NUMBER, 64.0), "captured_f_number": number(0.5, 64.0),
    "near": number(0.0, 10_000.0), "far": number(0.0, 10_000.0), "feather": number(0.0, 100.0),
    "target": one_of(*TARGETS), "blur": number(0.0, MAX_BLUR), "brightness": number(-3.0, 3.0),
    "desaturate": number(0.0, 1.0),
}


def render_index_map(depth: np.ndarray, edit: DepthEdit, *, focus_frame: float | None, captured_f_number: float,
                     frame_count: int) -> np.ndarray:
    """(H, W) float32 fractional frame index per pixel for ``edit``'s focus and aperture.

    Without a focus point: an infinitely small aperture, i.e. the depth map itself (the all-in-focus
    depth-map stack).
    """
    f_number = math.inf if focus_frame is None else edit.f_number or captured_f_number
    return aperture_index_map(depth, focus=focus_frame or 0.0, f_number=f_number,
                              captured_f_number=captured_f_number, frame_count=frame_count)


def depth_selection(depth: np.ndarray, *, near: float, far: float, feather: float) -> np.ndarray:
    """(H, W) float32 0..1: 1 where ``depth`` (frames) is within ``near``..``far``, falling to 0 over ``feather``."""
    weight = np.empty(depth.shape, np.float32)
    for top, bottom in _bands(depth.shape):  # a band at a time: each step is a full-size plane
        part = depth[top:bottom]
        outside = np.maximum(np.float32(near) - part, part - np.float32(far))
        weight[top:bottom] = outside <= 0 if feather <= 0 else np.clip(1.0 - outside / np.float32(feather), 0.0, 1.0)
    return weight


def on_slopes(depth: np.ndarray, *, far: float, feather: float) -> np.ndarray:
    """(H, W) float32 0..1: how far each pixel lies on a slope of ``depth`` that rises beyond ``far``.

    At an object's edge the depth map does not step, it slopes (its tiles are coarser than the edge and
    smoothed, and a tile the edge crosses takes the nearer object's depth), so the depths in between are
    nobody's. A pixel there that a range selects belongs to the farther side: the background just around a
    selected subject, or the rim of a nearer object whose edge slopes through the range. Selected, they
    kept their colour and sharpness when the background was blurred and desaturated: a fringe around the
    subject, and coloured outlines around nearer objects.
    """
    h, w = depth.shape[:2]
    reach = max(2, round(EDGE_REACH * max(h, w)))
    # The depth map is smooth: its lowest and highest around each pixel are found on a reduced copy.
    factor = max(1, reach // 4)
    small = depth if factor == 1 else cv2.resize(depth, (max(1, w // factor), max(1, h // factor)),
                                                 interpolation=cv2.INTER_AREA)
    side = 2 * max(1, round(reach / factor)) + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (side, side))
    lowest, highest = (cv2.resize(op(small, kernel), (w, h), interpolation=cv2.INTER_LINEAR)
                       for op in (cv2.erode, cv2.dilate))
    step = np.float32(max(feather, MIN_STEP))
    slopes = np.empty(depth.shape, np.float32)
    for top, bottom in _bands(depth.shape):
        rows = slice(top, bottom)
        risen = np.clip((depth[rows] - lowest[rows]) / step, 0.0, 1.0)  # above the nearest depth around: no plateau
        beyond = np.clip((highest[rows] - np.float32(far)) / step, 0.0, 1.0)  # and a farther object beyond the range
        slopes[rows] = risen * beyond
    return slopes


def follow_edges(selection: np.ndarray, guide: np.ndarray, *, tile: float) -> np.ndarray:
    """(H, W) float32 0..1: ``selection`` with its border moved onto the edges of ``guide``.

    ``guide`` (H, W, 3) is the picture in the 0..255 scale (any dtype), ``tile`` the focus index's tile
    in its pixels. Within :data:`UNSURE_TILES` of the selection's border, where the depth map cannot
    say which side a pixel is on, the selection is set to one half and then taken from the colour guided filter
    (He, Sun & Tang, "Guided Image Filtering", PAMI 2013) over :data:`EDGE_TILES`: in each window the
    selection is fitted as a linear function of the guide's colour, so where the window holds an
    outline the selection steps with it, and where the guide is flat it is only smoothed. The fit is
    made on a copy reduced so that the window is about 8 px across (He & Sun, "Fast Guided Filter",
    2015) and applied at full size, so the border is as sharp as the picture's own edge; holes and
    islands smaller than :data:`SPECK_TILES` are closed and opened away. Only the box around the
    border that the fit reaches is worked on.
    """
    h, w = selection.shape
    side = 2 * max(1, round(UNSURE_TILES * tile)) + 1
    inside = (selection >= 0.5).astype(np.uint8)
    square = cv2.getStructuringElement(cv2.MORPH_RECT, (side, side))
    unsure = cv2.dilate(inside, square) != cv2.erode(inside, square)
    followed = selection.astype(np.float32)  # (a copy)
    rows, cols = np.nonzero(unsure.any(axis=1))[0], np.nonzero(unsure.any(axis=0))[0]
    if not len(rows):
        return followed
    radius = EDGE_TILES * tile
    reach = round(2 * radius) + 2 * max(1, round(radius / 8))  # the fit is averaged twice: two windows
    r0, r1 = max(0, int(rows[0]) - reach), min(h, int(rows[-1]) + reach + 1)
    c0, c1 = max(0, int(cols[0]) - reach), min(w, int(cols[-1]) + reach + 1)
    box = (slice(r0, r1), slice(c0, c1))
    fitted = _guided_fit(followed[box], guide[box], unsure[box], radius)
    # A textured subject has specks of the colours behind it (a coin's dark grain against a dark ground): the fit
    # leaves holes there, and around it islands; closed and opened by a disc smaller than any outline's detail.
    side = 2 * max(1, round(SPECK_TILES * tile / 2)) + 1
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
    margin = 2 * side  # the closing and the opening reach four radii of the disc
    for top, bottom in _bands(fitted.shape):
        above, below = max(0, top - margin), min(len(fitted), bottom + margin)
        cleaned = cv2.morphologyEx(cv2.morphologyEx(fitted[above:below], cv2.MORPH_CLOSE, disc), cv2.MORPH_OPEN, disc)
        np.copyto(followed[r0 + top:r0 + bottom, c0:c1], cleaned[top - above:bottom - above],
                  where=unsure[r0 + top:r0 + bottom, c0:c1])
    return followed


def _bands(shape: tuple[int, ...]) -> list[tuple[int, int]]:
    """The (top, bottom) rows of the bands an (H, W) box is worked on in, about :data:`BAND_PIXELS` each."""
    rows = max(1, BAND_PIXELS // max(1, shape[1]))
    return [(top, min(shape[0], top + rows)) for top in range(0, shape[0], rows)]


def _guided_fit(selection: np.ndarray, guide: np.ndarray, unsure: np.ndarray, radius: float) -> np.ndarray:
    """(h, w) float32 0..1: which side of an outline of ``guide`` each pixel is on, by :func:`follow_edges`'s
    guided filter over ``radius`` px, from ``selection`` where it is not ``unsure``."""
    h, w = selection.shape
    factor = max(1, round(radius / 8))
    small = (max(1, w // factor), max(1, h // factor))
    # The reduced copies are made a full-size plane at a time (a float copy of the guide is 12 bytes a pixel).
    p = cv2.resize(np.where(unsure, np.float32(0.5), selection).astype(np.float32, copy=False), small,
                   interpolation=cv2.INTER_AREA)
    colour = cv2.merge([cv2.resize(_unit(guide[..., c]), small, interpolation=cv2.INTER_AREA) for c in range(3)])
    sure_full = unsure.astype(np.float32)
    np.subtract(np.float32(1.0), sure_full, out=sure_full)
    sure_small = cv2.resize(sure_full, small, interpolation=cv2.INTER_AREA)
    del sure_full
    window = 2 * max(1, round(radius / factor)) + 1

    def mean(a: np.ndarray) -> np.ndarray:
        out: np.ndarray = cv2.blur(a, (window, window), borderType=cv2.BORDER_REFLECT)
        return out

    mean_i, mean_p = mean(colour), mean(p)
    covariance = mean(colour * p[..., None]) - mean_i * mean_p[..., None]
    # Each pixel's 3 x 3 colour covariance, regularised, solved for the linear coefficients a (per channel).
    sigma = np.empty((*p.shape, 3, 3), np.float32)
    for i in range(3):
        for j in range(i, 3):
            product = mean(colour[..., i] * colour[..., j]) - mean_i[..., i] * mean_i[..., j]
            sigma[..., i, j] = sigma[..., j, i] = product
    sigma += np.eye(3, dtype=np.float32) * np.float32(EDGE_EPS)
    a = np.linalg.solve(sigma, covariance[..., None])[..., 0].astype(np.float32)
    a, b = np.stack([mean(np.ascontiguousarray(a[..., c])) for c in range(3)], axis=-1), \
        mean(mean_p - np.einsum("hwc,hwc->hw", a, mean_i))
    # The unsure pixels draw the fit toward one half by their share of the windows: stretched back by the sure share.
    sure = mean(mean(sure_small))
    b = (b - 0.5) / np.maximum(sure, 0.05) + 0.5
    a /= np.maximum(sure, 0.05)[..., None]
    # At full size, two planes (the fit and one coefficient scaled up); the products with the guide a band at a time.
    out: np.ndarray = cv2.resize(b, (w, h), interpolation=cv2.INTER_LINEAR)
    bands = _bands(out.shape)
    for c in range(3):
        plane = cv2.resize(np.ascontiguousarray(a[..., c]), (w, h), interpolation=cv2.INTER_LINEAR)
        for top, bottom in bands:
            out[top:bottom] += plane[top:bottom] * _unit(guide[top:bottom, :, c])
        del plane
    # The fit says which side of the outline a pixel is on, leaning less the more the window's colours overlap:
    # a ramp around one half makes that a selection again. (Away from the border the depth map is sure, and the
    # fit would only smear the picture's texture into it: the caller takes it on the border only.)
    for top, bottom in bands:
        t = np.clip((out[top:bottom] - 0.5) / np.float32(2 * EDGE_RAMP) + 0.5, 0.0, 1.0)
        out[top:bottom] = t * t * (3.0 - 2.0 * t)
    return out


def _unit(plane: np.ndarray) -> np.ndarray:
    """A plane of the picture (0..255 scale, any dtype) as float32 in 0..1."""
    unit = plane.astype(np.float32)
    unit *= np.float32(1 / 255)
    return unit


def edit_selection(depth: np.ndarray, edit: DepthEdit, *, guide: np.ndarray | None = None,
                   tile: float = 0.0) -> np.ndarray | None:
    """(H, W) float32 0..1: what ``edit``'s depth range selects (None: no range), the slopes beyond it left out.

    With ``guide``, the picture edited (H, W, 3), its border follows the picture's edges (:func:`follow_edges`;
    ``tile``: the focus index's tile in its pixels); without, it is the depth map's.
    """
    if edit.near is None or edit.far is None:
        return None
    selection = depth_selection(depth, near=edit.near, far=edit.far, feather=edit.feather)
    kept = on_slopes(depth, far=edit.far, feather=edit.feather)
    np.subtract(np.float32(1.0), kept, out=kept)
    selection *= kept
    del kept
    if guide is None:
        return selection
    return follow_edges(selection, guide, tile=tile)


def edit_weight(depth: np.ndarray, edit: DepthEdit, *, guide: np.ndarray | None = None,
                tile: float = 0.0) -> np.ndarray | None:
    """(H, W) float32 0..1: where ``edit``'s adjustments act (its target), or None when they change nothing
    (``guide`` and ``tile`` as :func:`edit_selection` takes them)."""
    return weight_of(edit_selection(depth, edit, guide=guide, tile=tile) if edit.adjusts else None, edit)


def weight_of(selection: np.ndarray | None, edit: DepthEdit) -> np.ndarray | None:
    """:func:`edit_weight` from the ``selection`` :func:`edit_selection` made (None: no adjustment acts)."""
    if selection is None or not edit.adjusts:
        return None
    return selection if edit.target == "subject" else 1.0 - selection


def adjust(image: np.ndarray, weight: np.ndarray, edit: DepthEdit, *, in_place: bool = False) -> np.ndarray:
    """(H, W, 3) float32: ``image`` with ``edit``'s blur, brightness and desaturation applied by ``weight``.

    The blur is normalised by the weight (a blurred background takes nothing from the sharp subject
    beside it, so no halo of the subject's colour spreads into it). Values stay in the image's scale.
    ``in_place``: a float32 ``image`` is itself changed and returned (a full-size export holds no second copy).
    """
    out = image if in_place and image.dtype == np.float32 else image.astype(np.float32)
    weight = weight.astype(np.float32, copy=False)
    bands = _bands(weight.shape)
    if edit.blur > 0:
        # A plane at a time, the per-pixel work a band at a time: at full size a colour image is 12 bytes a pixel.
        sigma = edit.blur * max(image.shape[:2])
        den = wide_blur(weight, sigma)  # the same for every channel
        for c in range(3):
            num = wide_blur(out[..., c] * weight, sigma)
            for top, bottom in bands:
                part, near = out[top:bottom, :, c], den[top:bottom]
                blurred = num[top:bottom] / np.maximum(near, 1e-3)
                part += (blurred - part) * np.where(near > 1e-3, weight[top:bottom], 0.0)
            del num
    if edit.desaturate > 0 or edit.brightness != 0:
        # Both in one pass: (out (1 - d w) + grey d w) (1 + (g - 1) w), per-pixel factors on planes.
        for top, bottom in bands:
            part, here = out[top:bottom], weight[top:bottom]
            grey_share = here * np.float32(edit.desaturate)
            gain = 1.0 + here * np.float32(2.0 ** edit.brightness - 1.0)
            grey = cv2.cvtColor(part, cv2.COLOR_BGR2GRAY) * grey_share * gain
            part *= cv2.merge([(1.0 - grey_share) * gain] * 3)
            part += cv2.merge([grey] * 3)
    return out


def wide_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of ``sigma`` px made on a copy reduced by about sigma / 3 and scaled back.

    A wide Gaussian keeps nothing finer than a third of its sigma, so the reduced copy loses nothing
    visible, and the cost stops growing with the blur (sigma 50 at full size is a 300-tap kernel).
    """
    h, w = image.shape[:2]
    factor = max(1, int(sigma / 3))
    if factor == 1:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    small = cv2.resize(image, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor)
    out: np.ndarray = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return out


def tint(image: np.ndarray, selected: np.ndarray, *, colour: tuple[float, float, float] = (0.0, 170.0, 255.0),
         strength: float = 0.45) -> np.ndarray:
    """(H, W, 3) float32: ``image`` (0..255 scale) washed with ``colour`` (BGR) by ``selected`` (H, W) 0..1:
    the selection made visible, its feathered edge included."""
    out = image.astype(np.float32)
    w = cv2.merge([selected.astype(np.float32) * np.float32(strength)] * 3)
    out += (np.array(colour, np.float32) - out) * w
    return out


def finish(image: np.ndarray, dtype: np.dtype[Any] | type) -> np.ndarray:
    """Float ``image`` in the 0..255 scale rounded and saturated to ``dtype`` (uint8, or uint16 scaled by 257)."""
    scale = 257.0 if np.dtype(dtype) == np.uint16 else 1.0
    top = float(np.iinfo(np.dtype(dtype)).max)
    out = np.empty(image.shape, dtype)
    for first, last in _bands(image.shape):  # a band at a time: the float steps are 12 bytes a pixel each
        out[first:last] = np.clip(np.rint(image[first:last] * scale), 0, top)
    return out
