"""Retouch strokes as pure functions: a stroke's core is the aligned, colour-matched source; its soft edge
blends; nothing outside it changes; replaying fewer strokes gives the stack back bit for bit; the sharpest
brush takes each place from its own sharpest frames, the halo brush the depth map's frame."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from tether.errors import InvalidInput
from tether.imaging import ArrayFrames, FocusIndex, ImagingError, compute_focus_index, retouch, stack_frames
from tether.imaging import transforms as tf
from tether.imaging.depthmap_fusion import DETAIL_REACH, DepthmapStack
from tether.imaging.retouch import (
    FocusMaps,
    Source,
    Stroke,
    aligned_region,
    focus_region,
    halo_frame,
    path_distance,
    replay,
    simplify_path,
    stroke_box,
)
from tether.imaging.strips import Strip


@pytest.fixture(scope="module")
def stacked(synthetic):
    """A breathing synthetic stack, its focus index (transforms and gains), a range stack of its first frames
    (the far side of the plane left soft: a region the stack got wrong) and a reader of aligned regions."""
    stack = synthetic(n=10, shape=(120, 160), breathing=0.004, seed=5)
    # frame 7 a little brighter, so the colour gains are not all 1
    stack.frames[7] = np.clip(stack.frames[7].astype(np.float32) * 1.06, 0, 255).astype(np.uint8)
    source = ArrayFrames(stack.frames)
    index = compute_focus_index(source)
    base = stack_frames(source, index=index, frames=range(0, 4)).image

    def frame(k: int, box: tuple[int, int, int, int]) -> np.ndarray:
        return aligned_region(stack.frames[k], index.transforms[k], index.gains[k], box, index.shape)

    def read(src: Source, box: tuple[int, int, int, int]) -> np.ndarray:
        return focus_region(FocusMaps.of(index), box, frame) if src.kind == "focus" else frame(src.number, box)

    return stack, index, base, read


def expected_frame(stack, index, k: int) -> np.ndarray:
    """Frame k in the reference geometry and colour, made whole (not from a box) with numpy's own rounding."""
    warped = tf.warp_to_reference(stack.frames[k], index.transforms[k], size=index.shape).astype(np.float64)
    return np.clip(np.rint(warped * index.gains[k].astype(np.float64)), 0, 255)


def test_the_core_is_the_aligned_gain_matched_frame_and_the_edge_blends(stacked) -> None:
    stack, index, base, read = stacked
    assert not np.allclose(index.gains[7], 1.0) and not np.allclose(index.transforms[7], np.eye(3), atol=1e-3)
    stroke = Stroke(points=((110.0, 40.0), (130.0, 70.0)), radius=14.0, hardness=0.5, opacity=1.0,
                    source=Source("frame", 7))
    out = replay(base, [stroke], read)
    box = stroke_box(stroke, index.shape)
    r0, r1, c0, c1 = box
    distance = np.full(index.shape, np.inf, np.float32)
    distance[r0:r1, c0:c1] = path_distance(stroke, box)
    core, edge, outside = distance <= 6.0, (distance > 8.0) & (distance < 13.0), distance > 15.0
    want = expected_frame(stack, index, 7)
    diff = np.abs(out.astype(np.float64) - want)[core]
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99  # (1: a different rounding of the gains at .5)
    np.testing.assert_array_equal(out[outside], base[outside])
    lo, hi = np.minimum(base, want)[edge], np.maximum(base, want)[edge]
    assert ((out[edge] >= lo - 1) & (out[edge] <= hi + 1)).all()
    between = (np.abs(out[edge].astype(float) - base[edge]) > 2) & (np.abs(out[edge].astype(float) - want[edge]) > 2)
    assert between.mean() > 0.2, "the soft edge does not blend"
    # where the stack was wrong (the far side, outside its range), the stroke is sharper than it was
    err_before = np.abs(base[core].astype(float) - stack.sharp[core]).mean()
    err_after = np.abs(out[core].astype(float) - stack.sharp[core]).mean()
    assert err_after < 0.7 * err_before


def test_opacity_scales_the_core_and_undo_gives_the_stack_back_bit_for_bit(stacked) -> None:
    stack, index, base, read = stacked
    one = Stroke(points=((120.0, 60.0),), radius=10.0, hardness=1.0, opacity=1.0, source=Source("frame", 8))
    half = Stroke(points=((40.0, 60.0), (60.0, 62.0)), radius=8.0, hardness=1.0, opacity=0.5, source=Source("frame", 0))
    both = replay(base, [one, half], read)
    undone = replay(base, [one], read)
    np.testing.assert_array_equal(replay(base, [], read), base)
    assert not np.array_equal(both, undone)
    box = stroke_box(half, index.shape)
    r0, r1, c0, c1 = box
    d = path_distance(half, box) <= 6.0
    mixed = (base[r0:r1, c0:c1].astype(float) + expected_frame(stack, index, 0)[r0:r1, c0:c1]) / 2
    assert np.abs(both[r0:r1, c0:c1][d] - mixed[d]).max() <= 1.0
    # outside the second stroke, undoing it changes nothing
    changed = np.any(both != undone, axis=2)
    assert changed[r0:r1, c0:c1].sum() == changed.sum()


def test_strokes_off_the_picture_are_clipped(stacked) -> None:
    _, index, base, read = stacked
    stroke = Stroke(points=((-30.0, -30.0), (5.0, 5.0)), radius=12.0, hardness=0.5, opacity=1.0,
                    source=Source("frame", 3))
    assert stroke_box(stroke, index.shape)[0] == 0
    out = replay(base, [stroke, Stroke(((500.0, 500.0),), 5.0, 0.5, 1.0, Source("frame", 3))], read)
    assert out.shape == base.shape and not np.array_equal(out[:6, :6], base[:6, :6])


def test_a_stroke_round_trips_and_bad_ones_are_refused() -> None:
    stroke = Stroke(points=((1.5, 2.25),), radius=3.0, hardness=0.2, opacity=0.7, source=Source("slab", 1),
                    brush="chosen")
    assert Stroke.from_dict(stroke.to_dict()) == stroke
    good = stroke.to_dict()
    for bad in ({"source": {"kind": "layer", "number": 1}}, {"source": 3}, {"points": []}, {"points": [[1]]},
                {"radius": 0}, {"opacity": 2}, {"brush": "smudge"}, {"colour": "red"}):
        with pytest.raises(InvalidInput):
            Stroke.from_dict({**good, **bad})


def test_the_sharpest_brush_never_blurs_a_small_subject_under_a_wide_brush(stacked) -> None:
    """The trial's coin: a wide brush over a small near disc on a far slope. One frame for the whole brush (what
    most of it covers, the far slope's) blurred the disc; each place from its own sharpest frames keeps it."""
    stack, index, base, read = stacked
    rows, cols = np.mgrid[:120, :160]
    disc = np.hypot(rows - 84, cols - 112) < 15  # the near disc (frame 1.35), well inside its rim
    ring = (np.hypot(rows - 84, cols - 112) > 22) & (np.hypot(rows - 84, cols - 112) < 55)
    far = ring & (cols > 130) & (cols < 150)  # the slope's far side under the brush, which the base left soft
    wide = Stroke(points=((112.0, 84.0),), radius=60.0, hardness=1.0, opacity=1.0, source=Source("focus"))
    once = index.refocus(112.0, 84.0, radius=round(60.0 / index.tile)).frame  # the one frame it used to copy
    assert once is not None and once >= 5

    def error(image: np.ndarray, where: np.ndarray) -> float:
        return float(np.abs(image.astype(np.float64) - stack.sharp)[where].mean())

    painted = replay(base, [wide], read)
    one_frame = replay(base, [Stroke(wide.points, 60.0, 1.0, 1.0, Source("frame", once))], read)
    assert error(one_frame, disc) > 2 * error(base, disc)  # the old brush blurred the disc
    assert error(painted, disc) <= 1.1 * error(base, disc)  # the new one keeps it as sharp as it was
    assert error(painted, far) < 0.7 * error(base, far)  # and mends what the base left soft
    assert Stroke.from_dict(wide.to_dict()) == wide and wide.to_dict()["source"] == {"kind": "focus"}


def test_the_halo_brush_follows_the_depth_map() -> None:
    # 6 x 6 tiles, 10 frames: every tile sharpest at frame 2, but the middle one's curve peaks at 8
    # (the blur of a near edge, say): the depth map smooths that outlier away
    n, rows, cols = 10, 6, 6
    frames = np.arange(n, dtype=np.float32)[:, None, None]
    peaks = np.full((rows, cols), 2.0, np.float32)
    peaks[3, 3] = 8.0
    scores = (np.exp(-0.5 * (frames - peaks) ** 2) + 0.01).astype(np.float32)
    index = FocusIndex(scores=scores, shape=(rows * 16, cols * 16), tile=16,
                       transforms=np.repeat(np.eye(3)[None], n, axis=0), gains=np.ones((n, 3), np.float32))
    at = (3 * 16 + 8.0, 3 * 16 + 8.0)
    assert index.best[3, 3] == 8 and halo_frame(index, at) == 2


def test_a_long_path_is_kept_as_few_points_within_half_a_pixel() -> None:
    xs = np.linspace(10, 200, 400)
    points = [(float(x), 50.0 + 20.0 * float(np.sin(x / 30.0))) for x in xs]
    kept = simplify_path(points)
    assert 5 < len(kept) < 80 and kept[0] == points[0] and kept[-1] == points[-1]
    full = Stroke(tuple(points), 6.0, 1.0, 1.0, Source("frame", 0))
    thin = Stroke(kept, 6.0, 1.0, 1.0, Source("frame", 0))
    box = stroke_box(full, (120, 240))
    # half a pixel from the simplification, half from drawing either path on the pixel grid; OpenCV 4.8's
    # float32 distances land a rounding error above that
    assert np.abs(path_distance(full, box) - path_distance(thin, box)).max() <= 1.0 + 1e-4


def test_a_stroke_warps_its_box_of_the_source_not_whole_rows(stacked, monkeypatch: pytest.MonkeyPatch) -> None:
    stack, index, _, read = stacked
    warped: list[tuple[int, int]] = []
    warp = cv2.warpAffine

    def noted(image: np.ndarray, m: np.ndarray, size: tuple[int, int], **options: object) -> np.ndarray:
        warped.append(size)
        return warp(image, m, size, **options)

    monkeypatch.setattr(cv2, "warpAffine", noted)
    region = read(Source("frame", 7), (30, 50, 100, 120))
    assert warped == [(20, 20)] and region.shape == (20, 20, 3)  # (width, height): the box's, not 160 wide
    monkeypatch.undo()
    whole = expected_frame(stack, index, 7)[30:50, 100:120]
    assert np.abs(region - whole).max() <= 1


def sloped_maps() -> tuple[FocusMaps, list[np.ndarray]]:
    """Maps of a 64 x 640 picture in 16-px tiles whose depth slopes from frame 0 at the left to 19 at the right,
    with a near block (frame 2) over tiles 18-21 of rows 1-2: a depth edge; and 20 frames of noise."""
    depth = np.tile(np.linspace(0.0, 19.0, 40, dtype=np.float32), (4, 1))
    sharpest = depth.copy()
    sharpest[1:3, 18:22] = 2.0
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 256, (64, 640, 3), np.uint8) for _ in range(20)]
    return FocusMaps(depth, sharpest, 16, (64, 640), tuple(range(20))), frames


def test_the_sharpest_brush_reads_only_its_box_and_the_frames_its_tiles_name() -> None:
    """A narrow stroke on a wide picture whose depth spans every frame: the brush used to read and blend every
    frame named anywhere along its box's rows, the whole width (20 frames x 640 columns for a 30-px box)."""
    maps, frames = sloped_maps()
    reads: list[tuple[int, tuple[int, int, int, int]]] = []

    def read(k: int, box: tuple[int, int, int, int]) -> np.ndarray:
        reads.append((k, box))
        return frames[k][box[0]:box[1], box[2]:box[3]]

    r0, r1, c0, c1 = box = (10, 40, 300, 330)
    region = focus_region(maps, box, read)
    assert {b for _, b in reads} == {(r0, r1, c0 - DETAIL_REACH, c1 + DETAIL_REACH)}
    assert {k for k, _ in reads} == {2, 8, 9, 10}  # the slope's frames there (8.75 to 9.94), and the near block's
    whole = DepthmapStack.of_maps(maps.depth, maps.sharpest, tile=16, shape=(64, 640), frames=range(20))
    strip = whole.strip(Strip(0, 64, 0, 64))
    stack = np.empty_like(frames[0])
    for k in range(20):
        if (wanted := strip.box(k)) is not None:
            strip.add(k, lambda k=k, b=wanted: frames[k][b[0]:b[1], b[2]:b[3]], np.ones(3, np.float32))
    strip.finish(stack)
    inner = slice(DETAIL_REACH, r1 - r0 - DETAIL_REACH)  # (the box's own top and bottom rows end the edge pick's)
    assert np.array_equal(region[inner], stack[r0:r1, c0:c1][inner])  # the stack's pixels, bit for bit


def test_a_tall_stroke_of_the_sharpest_brush_is_made_in_bands_of_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    maps, frames = sloped_maps()
    reads: list[tuple[int, int, int, int]] = []

    def read(k: int, box: tuple[int, int, int, int]) -> np.ndarray:
        reads.append(box)
        return frames[k][box[0]:box[1], box[2]:box[3]]

    box = (0, 64, 300, 330)
    at_once = focus_region(maps, box, read)
    assert max((b[1] - b[0]) * (b[3] - b[2]) for b in reads) == 64 * 40
    reads.clear()
    monkeypatch.setattr(retouch, "STRIP_PIXELS", 1000)  # bands of 25 rows (and a margin of DETAIL_REACH)
    banded = focus_region(maps, box, read)
    assert max((b[1] - b[0]) * (b[3] - b[2]) for b in reads) <= 1000
    assert np.array_equal(banded, at_once)  # the depth edge's pick included


def test_the_sharpest_brush_leaves_out_the_frames_the_stack_left_out() -> None:
    """Frame 2 could not be registered (another scene): the stack left it out, so must the brush; its focus
    curve is zero, but the depth between frames 1 and 3 blended it in."""
    n, shape = 5, (64, 128)
    frames_at = np.arange(n, dtype=np.float32)[:, None, None]
    peaks = np.where(np.arange(8) < 4, 1.0, 3.0).astype(np.float32)[None, :].repeat(4, axis=0)
    scores = (np.exp(-0.5 * (frames_at - peaks) ** 2) + 0.01).astype(np.float32)
    scores[2] = 0.0
    index = FocusIndex(scores=scores, shape=shape, tile=16, transforms=np.repeat(np.eye(3)[None], n, axis=0),
                       gains=np.ones((n, 3), np.float32), excluded=(2,))
    rng = np.random.default_rng(4)
    frames = [rng.integers(0, 256, (*shape, 3), np.uint8) for _ in range(n)]
    stack = stack_frames(ArrayFrames(frames), method="depthmap", index=index).image
    maps = FocusMaps.of(index)
    read_frames: set[int] = set()

    def read(k: int, box: tuple[int, int, int, int]) -> np.ndarray:
        read_frames.add(k)
        return frames[k][box[0]:box[1], box[2]:box[3]]

    region = focus_region(maps, (0, 64, 40, 90), read)
    assert maps.frames == (0, 1, 3, 4) and 2 not in read_frames and {1, 3} <= read_frames
    assert np.array_equal(region, stack[:, 40:90])
    assert FocusMaps.from_bytes(maps.to_bytes()).frames == (0, 1, 3, 4)


def test_damaged_focus_maps_are_refused_as_such() -> None:
    maps, _ = sloped_maps()
    with pytest.raises(ImagingError, match="focus maps are damaged"):
        FocusMaps(maps.depth[:, :30], maps.sharpest, 16, (64, 640), maps.frames)
    with pytest.raises(ImagingError, match="focus maps are damaged"):
        FocusMaps.from_bytes(maps.to_bytes()[:100])
