"""Scenes of the simulated camera: textured flat objects at known distances, rasterised per image size.

Geometry convention (shared by every rendered image and every ground-truth map): an image of
width W and height H sees the world plane x in [-1, 1] across its width and y in
[-H/W, H/W] down its height, centred, so a 16:9 live view is a horizontal band of a 4:3 still.
Objects are listed back to front; each is a flat cut-out (a polygon or ellipse) facing the
camera at one distance, carrying a seeded procedural texture with fine grain, edges,
text-like strokes and colour.
"""
from __future__ import annotations

import functools
import math
import zlib
from dataclasses import dataclass

import cv2
import numpy as np

from tether.camera.errors import CameraNotFound

#: Fixed-point bits for cv2 drawing with sub-pixel precision.
_SHIFT = 4
_ONE = 1 << _SHIFT

#: Glyph-like strokes for the printed textures (cv2's Hershey fonts).
_WORDS = ("FOCUS", "tether", "35mm", "f/2.8", "ISO 200", "MACRO", "1/125", "LUMIX", "depth", "0.3m",
          "stack", "Post Focus", "infinity", "sharp", "ABCDEFG", "0123456789", "lens", "bokeh")


@dataclass(frozen=True)
class SceneObject:
    """One flat textured cut-out: where it is in the plane, how far away, and what it looks like."""

    name: str
    distance: float                      # metres from the lens
    shape: str                           # "rect", "ellipse" or "poly"
    points: tuple[tuple[float, float], ...]  # rect: two corners; ellipse: centre, radii; poly: vertices
    texture: str                         # see TEXTURES
    colour: tuple[int, int, int]         # base colour, BGR
    angle: float = 0.0                   # rotation of rect/ellipse in degrees


@dataclass(frozen=True)
class Scene:
    """A named scene and the lens that looks at it."""

    name: str
    title: str
    near_stop: float                     # focus distance (m) at motor position 0
    objects: tuple[SceneObject, ...]     # back to front; the first covers the whole frame
    illuminant: tuple[float, float, float] = (1.0, 1.0, 1.0)  # BGR gain of the light before white balance
    lens: str = ""


def _rect(x0: float, y0: float, x1: float, y1: float) -> tuple[tuple[float, float], ...]:
    return ((x0, y0), (x1, y1))


_FULL = _rect(-1.2, -1.0, 1.2, 1.0)

SCENE_LIST: tuple[Scene, ...] = (
    Scene(
        "macro",
        "macro bench: coin, leaf, stamp, fabric and a ruler on a cork board",
        0.12,
        (
            SceneObject("cork board", 0.60, "rect", _FULL, "cork", (90, 140, 185)),
            SceneObject("ruler", 0.36, "rect", _rect(-0.95, -0.50, 0.95, -0.30), "ruler", (215, 235, 240), angle=-6),
            SceneObject(
                "fabric",
                0.27,
                "poly",
                ((0.25, -0.28), (0.92, -0.22), (0.86, 0.42), (0.30, 0.46)),
                "fabric",
                (150, 60, 50),
            ),
            SceneObject("stamp", 0.21, "rect", _rect(-0.62, -0.22, -0.16, 0.22), "print", (70, 90, 200), angle=8),
            SceneObject(
                "leaf",
                0.17,
                "poly",
                ((-0.08, 0.48), (0.10, 0.05), (0.34, -0.06), (0.30, 0.22), (0.14, 0.45)),
                "leaf",
                (40, 150, 60),
            ),
            SceneObject("coin", 0.14, "ellipse", ((-0.78, 0.30), (0.17, 0.17)), "coin", (60, 150, 190)),
        ),
        lens="simulated 60mm macro",
        illuminant=(0.92, 1.0, 1.06),
    ),
    Scene(
        "product",
        "product table: bottle, box, mug and a book before a seamless backdrop",
        0.35,
        (
            SceneObject("backdrop", 1.80, "rect", _FULL, "paper", (200, 200, 205)),
            SceneObject("book", 1.10, "rect", _rect(0.30, -0.50, 0.95, 0.35), "print", (60, 60, 140), angle=-4),
            SceneObject("mug", 0.80, "ellipse", ((0.05, 0.10), (0.22, 0.28)), "stripes", (180, 120, 40)),
            SceneObject("box", 0.60, "rect", _rect(-0.75, -0.35, -0.20, 0.30), "print", (40, 170, 220), angle=3),
            SceneObject(
                "bottle label", 0.45, "rect", _rect(-0.30, 0.05, 0.10, 0.50), "label", (230, 235, 240), angle=-2
            ),
        ),
        lens="simulated 50mm",
        illuminant=(1.0, 1.0, 1.0),
    ),
    Scene(
        "portrait",
        "portrait: a hand with a flower, a face, a jacket and a plant before a wall",
        0.50,
        (
            SceneObject("wall", 4.00, "rect", _FULL, "brick", (90, 110, 170)),
            SceneObject(
                "plant",
                2.00,
                "poly",
                ((0.55, 0.55), (0.62, -0.40), (0.80, -0.52), (0.98, -0.30), (0.95, 0.55)),
                "leaf",
                (50, 130, 50),
            ),
            SceneObject(
                "jacket",
                1.30,
                "poly",
                ((-0.75, 0.55), (-0.55, 0.10), (0.35, 0.10), (0.55, 0.55)),
                "fabric",
                (60, 50, 45),
            ),
            SceneObject("face", 1.00, "ellipse", ((-0.10, -0.12), (0.22, 0.29)), "skin", (150, 175, 215)),
            SceneObject("flower", 0.70, "ellipse", ((-0.70, -0.25), (0.16, 0.16)), "petals", (80, 60, 220)),
        ),
        lens="simulated 85mm",
        illuminant=(0.80, 0.97, 1.12),
    ),
    Scene(
        "landscape",
        "landscape: fence post, flowers, a tree, a house and mountains under sky",
        1.50,
        (
            SceneObject("mountains and sky", 1000.0, "rect", _FULL, "sky", (200, 170, 140)),
            SceneObject("house", 15.0, "rect", _rect(0.30, -0.12, 0.75, 0.20), "brick", (80, 100, 170)),
            SceneObject("tree", 6.0, "ellipse", ((-0.45, -0.10), (0.28, 0.33)), "leaf", (40, 110, 40)),
            SceneObject("flowers", 3.0, "rect", _rect(-1.10, 0.25, 1.10, 0.60), "petals", (60, 190, 230)),
            SceneObject("fence post", 2.0, "rect", _rect(0.80, -0.55, 0.95, 0.60), "bark", (60, 90, 120)),
        ),
        lens="simulated 135mm",
        illuminant=(1.05, 1.0, 0.95),
    ),
)

SCENES: tuple[str, ...] = tuple(s.name for s in SCENE_LIST)


def get_scene(name: str) -> Scene:
    """The scene called ``name`` (empty = macro); raises CameraNotFound naming the scenes."""
    key = (name or "macro").lower()
    for scene in SCENE_LIST:
        if scene.name == key:
            return scene
    raise CameraNotFound(
        f"no simulated scene {name!r}", hint="simulated cameras: " + ", ".join(f"sim:{s}" for s in SCENES)
    )


def to_pixels(x: float, y: float, width: int, height: int) -> tuple[float, float]:
    """World-plane point -> pixel coordinates in an image of ``width`` x ``height``."""
    return (x + 1.0) * width / 2.0, y * width / 2.0 + height / 2.0


def _seed(*parts: object) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


def object_mask(obj: SceneObject, width: int, height: int) -> np.ndarray:
    """Anti-aliased coverage (float32 0..1) of ``obj`` in a ``width`` x ``height`` image."""
    mask = np.zeros((height, width), np.uint8)
    scale = width / 2.0
    if obj.shape == "ellipse":
        (cx, cy), (rx, ry) = obj.points
        px, py = to_pixels(cx, cy, width, height)
        cv2.ellipse(
            mask,
            (round(px * _ONE), round(py * _ONE)),
            (round(rx * scale * _ONE), round(ry * scale * _ONE)),
            obj.angle,
            0,
            360,
            255,
            -1,
            cv2.LINE_AA,
            _SHIFT,
        )
    else:
        if obj.shape == "rect":
            (x0, y0), (x1, y1) = obj.points
            corners = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], np.float64)
            centre = corners.mean(axis=0)
            t = math.radians(obj.angle)
            rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
            corners = (corners - centre) @ rot.T + centre
        else:
            corners = np.array(obj.points, np.float64)
        pix = np.array([to_pixels(x, y, width, height) for x, y in corners])
        cv2.fillPoly(mask, [np.round(pix * _ONE).astype(np.int32)], 255, cv2.LINE_AA, _SHIFT)
    return mask.astype(np.float32) / 255.0


def _face(img: np.ndarray, rng: np.random.Generator, u: float) -> None:
    """Eyes, brows, lashes, a mouth and hair strands: the fine detail a portrait is focused on."""
    h, w = img.shape[:2]
    dark, white, lip = (30.0, 30.0, 40.0), (235.0, 235.0, 240.0), (90.0, 90.0, 170.0)
    eyes = [(int(w * 0.32), int(h * 0.42)), (int(w * 0.68), int(h * 0.42))]
    ew, eh = max(3, int(w * 0.09)), max(2, int(h * 0.035))
    _ink(img, white, lambda m: [cv2.ellipse(m, e, (ew, eh), 0, 0, 360, 255, -1, cv2.LINE_AA) for e in eyes])
    _ink(img, (60.0, 90.0, 60.0), lambda m: [cv2.circle(m, e, max(2, eh), 255, -1, cv2.LINE_AA) for e in eyes])
    _ink(img, dark, lambda m: [cv2.circle(m, e, max(1, eh // 2), 255, -1, cv2.LINE_AA) for e in eyes])
    thin = max(1, round(u))

    def strokes(m: np.ndarray) -> None:
        for ex, ey in eyes:
            for i in range(-6, 7):  # lashes and brow hairs: thin dark strokes
                x = ex + i * ew // 6
                cv2.line(m, (x, ey - eh), (x + i, ey - eh - max(2, int(4 * u))), 255, thin, cv2.LINE_AA)
                cv2.line(m, (x, ey - 3 * eh), (x + 2 * i, ey - 4 * eh), 255, thin, cv2.LINE_AA)
        cv2.ellipse(
            m, (w // 2, int(h * 0.72)), (int(w * 0.16), max(2, int(h * 0.04))), 0, 0, 180, 255, 2 * thin, cv2.LINE_AA
        )
        for _ in range(160):  # hair at the top
            x = int(rng.uniform(0.1, 0.9) * w)
            cv2.line(
                m,
                (x, 0),
                (x + int(rng.uniform(-0.08, 0.08) * w), int(rng.uniform(0.08, 0.2) * h)),
                255,
                thin,
                cv2.LINE_AA,
            )

    _ink(img, dark, strokes)
    _ink(
        img,
        lip,
        lambda m: cv2.ellipse(
            m, (w // 2, int(h * 0.74)), (int(w * 0.12), max(2, int(h * 0.025))), 0, 0, 360, 255, -1, cv2.LINE_AA
        ),
    )


def _noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Smooth value noise in [-1, 1] with features about ``cell`` pixels across."""
    gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    coarse = rng.standard_normal((gh, gw), dtype=np.float32)
    out = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(out / 1.5, -1, 1)


def _multiscale(rng: np.random.Generator, h: int, w: int, scale: float, octaves: tuple[float, ...]) -> np.ndarray:
    total = np.zeros((h, w), np.float32)
    weight = 0.0
    for i, cell in enumerate(octaves):
        amp = 0.6**i
        total += amp * _noise(rng, h, w, max(1.0, cell * scale))
        weight += amp
    return total / weight


def _ink(img: np.ndarray, colour: tuple[float, float, float], draw) -> None:
    """Draw anti-aliased strokes with ``draw(mask)`` on a uint8 coverage mask, then lay ``colour`` down on ``img``."""
    mask = np.zeros(img.shape[:2], np.uint8)
    draw(mask)
    cover = (mask.astype(np.float32) / 255.0)[..., None]
    img *= 1.0 - cover
    img += cover * np.asarray(colour, np.float32)


def _text(
    img: np.ndarray, rng: np.random.Generator, px: float, colour: tuple[int, int, int], rows: int, size: float
) -> None:
    """Lines of printed words: thin strokes and hard edges, the best focus targets a real scene has."""
    _ink(img, colour, lambda mask: _words(mask, rng, px, rows, size))


def _words(img: np.ndarray, rng: np.random.Generator, px: float, rows: int, size: float) -> None:
    colour = 255
    h, w = img.shape[:2]
    font_scale = max(0.3, size * px / 30.0)
    thick = max(1, round(font_scale * 1.6))
    for r in range(rows):
        y = int((r + 0.8) * h / rows)
        x = int(rng.uniform(0.0, 0.1) * w)
        while x < w:
            word = _WORDS[int(rng.integers(len(_WORDS)))]
            cv2.putText(img, word, (x, y), cv2.FONT_HERSHEY_SIMPLEX, font_scale, colour, thick, cv2.LINE_AA)
            (tw, _), _ = cv2.getTextSize(word, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thick)
            x += tw + int(font_scale * 18)


def texture(kind: str, colour: tuple[int, int, int], h: int, w: int, px: float, seed: int) -> np.ndarray:
    """A ``h`` x ``w`` BGR uint8 texture; ``px`` = pixels per world unit (so detail scales with the image)."""
    rng = np.random.default_rng(seed)
    base = np.empty((h, w, 3), np.float32)
    base[:] = colour
    grain = rng.standard_normal((h, w), dtype=np.float32)  # pixel-level grain: the finest detail
    u = px / 960.0  # 1.0 at a 1920-wide image
    if kind in ("cork", "bark", "paper", "skin", "sky"):
        amount = {"cork": 0.45, "bark": 0.5, "paper": 0.10, "skin": 0.12, "sky": 0.08}[kind]
        field = _multiscale(rng, h, w, u, (40, 12, 4, 1.5))
        shade = 1.0 + amount * field + 0.06 * grain
        if kind == "bark":
            shade += 0.35 * np.sin(np.arange(w, dtype=np.float32)[None, :] / (6 * u) + 3 * field)
        if kind == "sky":
            yy = np.linspace(0, 1, h, dtype=np.float32)[:, None]
            ridge = (0.55 + 0.12 * _noise(rng, 1, w, 60 * u)[0] + 0.05 * _noise(rng, 1, w, 8 * u)[0])[None, :]
            mountain = yy > ridge
            shade = np.where(mountain, 0.45 + 0.25 * field + 0.15 * grain, shade + 0.15 * (1 - yy))
        base *= shade[..., None]
        if kind == "skin":
            _face(base, rng, u)
    elif kind == "fabric":
        period = max(2.0, 3.0 * u)
        x = np.arange(w, dtype=np.float32)[None, :]
        y = np.arange(h, dtype=np.float32)[:, None]
        weave = 0.5 + 0.25 * np.sin(2 * np.pi * x / period) * np.sign(np.sin(2 * np.pi * y / (2 * period)))
        weave += 0.25 * np.sin(2 * np.pi * y / period)
        base *= (0.7 + 0.5 * weave + 0.08 * grain + 0.15 * _noise(rng, h, w, 30 * u))[..., None]
    elif kind in ("leaf", "petals"):
        field = _multiscale(rng, h, w, u, (25, 6, 2))
        base *= (0.85 + 0.35 * field + 0.08 * grain)[..., None]
        segments = [
            ((int(rng.uniform(0, w)), int(rng.uniform(0, h))), (int(rng.uniform(0, w)), int(rng.uniform(0, h))))
            for _ in range(int(14 + 6 * rng.random()))
        ]  # veins / petal edges: fine curved lines
        lb, lg, lr = (min(255.0, c * 1.7) for c in colour)
        light = (lb, lg, lr) if kind == "leaf" else (240.0, 240.0, 250.0)

        def veins(mask: np.ndarray) -> None:
            for p0, p1 in segments:
                cv2.line(mask, p0, p1, 255, max(1, round(u)), cv2.LINE_AA)

        _ink(base, light, veins)
    elif kind == "coin":
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r = np.hypot(xx - w / 2, yy - h / 2) / (min(h, w) / 2)
        rings = 0.8 + 0.25 * np.cos(r * 60.0) * (r > 0.85) + 0.25 * _noise(rng, h, w, 3 * u) + 0.1 * grain
        base *= rings[..., None]
        _text(base, rng, px, (30, 60, 80), 9, 0.022)
    elif kind == "brick":
        bh, bw = max(4, int(24 * u)), max(8, int(60 * u))
        yy, xx = np.mgrid[0:h, 0:w]
        row = yy // bh
        xs = xx + (row % 2) * bw // 2
        mortar = ((yy % bh) < max(1, bh // 8)) | ((xs % bw) < max(1, bw // 16))
        tone = 0.8 + 0.3 * _noise(rng, h, w, 2 * u) + 0.2 * _noise(rng, h, w, 30 * u) + 0.06 * grain
        base *= tone[..., None]
        base[mortar] = (200, 200, 200)
    elif kind == "stripes":
        x = np.arange(w, dtype=np.float32)[None, :]
        bands = (np.sin(2 * np.pi * x / max(3.0, 14 * u)) > 0).astype(np.float32)
        base *= (0.6 + 0.5 * bands + 0.05 * grain)[..., None] * np.ones((h, 1, 1), np.float32)
    else:  # "print", "label", "ruler": paper with strokes, edges and patches of colour
        base *= (0.95 + 0.04 * grain + 0.05 * _noise(rng, h, w, 10 * u))[..., None]
        if kind == "ruler":

            def ticks(mask: np.ndarray) -> None:
                step = max(3.0, 9.0 * u)
                for i in range(int(w / step)):
                    x = int(i * step)
                    length = h * (0.45 if i % 10 == 0 else 0.3 if i % 5 == 0 else 0.18)
                    cv2.line(mask, (x, 0), (x, int(length)), 255, max(1, round(0.8 * u)), cv2.LINE_AA)
                    if i % 10 == 0:
                        cv2.putText(
                            mask,
                            str(i // 10),
                            (x + 2, int(h * 0.8)),
                            cv2.FONT_HERSHEY_SIMPLEX,
                            max(0.3, 0.5 * u),
                            255,
                            max(1, round(u)),
                            cv2.LINE_AA,
                        )

            _ink(base, (20, 20, 20), ticks)
        else:
            for _ in range(3):
                x0, y0 = int(rng.uniform(0, w * 0.7)), int(rng.uniform(0, h * 0.7))
                patch = tuple(float(v) for v in rng.uniform(30, 230, 3))
                base[y0 : y0 + int(h * 0.2), x0 : x0 + int(w * 0.25)] = patch
            _text(base, rng, px, (25, 25, 25), 9 if kind == "print" else 6, 0.03)
            _ink(
                base,
                (30, 30, 30),
                lambda m: cv2.rectangle(m, (2, 2), (w - 3, h - 3), 255, max(1, round(2 * u)), cv2.LINE_AA),
            )
    return cv2.convertScaleAbs(base)  # saturates to 0..255


@dataclass(frozen=True)
class Layer:
    """One object rasterised for one image size: premultiplied colour + coverage inside its box."""

    name: str
    distance: float
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels (half-open)
    #: (h, w, 4) uint8: colour * coverage and coverage (0..255); the backdrop (full_frame) is (H, W, 3) colour.
    pixels: np.ndarray
    full_frame: bool


def _object_texture(obj: SceneObject, box: tuple[int, int, int, int], width: int, height: int, seed: int) -> np.ndarray:
    """The object's texture over its pixel box; a rotated label's print turns with it."""
    x0, y0, x1, y1 = box
    px = width / 2.0
    if obj.shape != "rect" or not obj.angle:
        return texture(obj.texture, obj.colour, y1 - y0, x1 - x0, px, seed)
    (ax0, ay0), (ax1, ay1) = obj.points
    tw, th = max(1, round((ax1 - ax0) * px)), max(1, round((ay1 - ay0) * px))
    flat = texture(obj.texture, obj.colour, th, tw, px, seed)
    cx, cy = to_pixels((ax0 + ax1) / 2, (ay0 + ay1) / 2, width, height)
    # Same turn as object_mask gives the outline (y points down, so a positive angle turns clockwise).
    matrix = cv2.getRotationMatrix2D((tw / 2.0, th / 2.0), -obj.angle, 1.0)
    matrix[0, 2] += cx - x0 - tw / 2.0
    matrix[1, 2] += cy - y0 - th / 2.0
    return cv2.warpAffine(flat, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


@functools.lru_cache(maxsize=6)
def raster(scene_name: str, width: int, height: int, seed: int) -> tuple[Layer, ...]:
    """The scene's objects as layers for a ``width`` x ``height`` image (cached; deterministic per seed)."""
    scene = get_scene(scene_name)
    px = width / 2.0
    layers = []
    for i, obj in enumerate(scene.objects):
        tex_seed = _seed(scene_name, obj.name, seed, width, height)
        if i == 0:  # the backdrop fills the frame
            tex = texture(obj.texture, obj.colour, height, width, px, tex_seed)
            layers.append(Layer(obj.name, obj.distance, (0, 0, width, height), tex, True))
            continue
        mask = object_mask(obj, width, height)
        ys, xs = np.nonzero(mask > 0)
        if len(xs) == 0:
            continue
        x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
        tex = _object_texture(obj, (x0, y0, x1, y1), width, height, tex_seed)
        alpha = mask[y0:y1, x0:x1]
        rgba = np.empty((y1 - y0, x1 - x0, 4), np.uint8)
        rgba[..., :3] = np.rint(tex.astype(np.float32) * alpha[..., None])
        rgba[..., 3] = np.rint(alpha * 255)
        layers.append(Layer(obj.name, obj.distance, (x0, y0, x1, y1), rgba, False))
    return tuple(layers)
