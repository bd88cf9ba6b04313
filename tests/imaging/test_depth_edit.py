"""Depth-based editing (tether/imaging/depth_edit.py) and screen-size blending (display.py) on arrays of known
depth: a selection acts only within its depth range, the aperture's index map follows the model."""
from __future__ import annotations

import tracemalloc

import cv2
import numpy as np
import pytest

from tether.errors import InvalidInput
from tether.imaging import depth_edit
from tether.imaging.depth_edit import (
    DepthEdit,
    adjust,
    depth_selection,
    edit_selection,
    edit_weight,
    finish,
    follow_edges,
    render_index_map,
)
from tether.imaging.display import blend_at_index, packed

RNG = np.random.default_rng(3)


def scene() -> tuple[np.ndarray, np.ndarray]:
    """A textured (60, 80, 3) picture and its depth: a near square (frame 2) on a far ground (frame 9)."""
    image = RNG.integers(40, 200, (60, 80, 3)).astype(np.uint8)
    depth = np.full((60, 80), 9.0, np.float32)
    depth[15:45, 20:50] = 2.0
    return image, depth


def test_the_selection_is_one_inside_its_range_and_falls_to_zero_over_the_feather() -> None:
    depth = np.linspace(0, 10, 101, dtype=np.float32)[None, :]
    weight = depth_selection(depth, near=3, far=5, feather=1)[0]
    assert np.all(weight[(depth[0] >= 3) & (depth[0] <= 5)] == 1)
    assert np.all(weight[(depth[0] <= 2) | (depth[0] >= 6)] == 0)
    ramp = weight[(depth[0] > 5) & (depth[0] < 6)]
    assert np.all(np.diff(ramp) < 0) and 0 < ramp.min() < ramp.max() < 1
    hard = depth_selection(depth, near=3, far=5, feather=0)[0]
    assert set(np.unique(hard)) == {0.0, 1.0}


@pytest.mark.parametrize("target", ["subject", "background"])
def test_an_adjustment_changes_only_what_its_depth_range_selects(target: str) -> None:
    image, depth = scene()
    near_square = depth == 2.0
    edit = DepthEdit.from_dict({"near": 1, "far": 3, "feather": 0.5, "target": target, "brightness": 1,
                                "desaturate": 0.5, "blur": 0.02})
    weight = edit_weight(depth, edit)
    assert weight is not None
    out = finish(adjust(image, weight, edit), np.uint8)
    chosen = near_square if target == "subject" else ~near_square
    assert np.array_equal(out[~chosen], image[~chosen])  # exactly unchanged outside the selection
    assert out[chosen].astype(float).mean() > image[chosen].astype(float).mean() * 1.3  # a stop brighter, capped


def test_a_blurred_background_takes_no_colour_from_the_subject() -> None:
    image = np.zeros((60, 80, 3), np.uint8)
    image[:, :, 2] = 200  # red ground (frame 9)
    image[15:45, 20:50] = (255, 0, 0)  # a blue square in front (frame 2)
    depth = np.full((60, 80), 9.0, np.float32)
    depth[15:45, 20:50] = 2.0
    edit = DepthEdit.from_dict({"near": 1, "far": 3, "feather": 0, "target": "background", "blur": 0.05})
    out = finish(adjust(image, edit_weight(depth, edit), edit), np.uint8)  # type: ignore[arg-type]
    ground = depth == 9.0
    assert out[ground][:, 0].max() <= 1 and abs(int(out[ground][:, 2].min()) - 200) <= 1


def test_desaturating_fully_makes_the_selection_grey_and_16_bit_keeps_the_scale() -> None:
    image, depth = scene()
    edit = DepthEdit.from_dict({"near": 8, "far": 10, "feather": 0, "target": "subject", "desaturate": 1})
    out = adjust(image, edit_weight(depth, edit), edit)  # type: ignore[arg-type]
    far = depth == 9.0
    assert np.ptp(out[far], axis=1).max() < 1e-3
    wide = finish(out, np.uint16)
    assert wide.dtype == np.uint16 and abs(int(wide.max()) - 257 * int(finish(out, np.uint8).max())) <= 257


def test_the_index_map_is_the_focus_frame_at_the_captured_aperture_and_the_depth_without_focus() -> None:
    _, depth = scene()
    same = render_index_map(depth, DepthEdit(f_number=4), focus_frame=5.0, captured_f_number=4, frame_count=12)
    assert np.allclose(same, 5.0)
    wider = render_index_map(depth, DepthEdit(f_number=2), focus_frame=5.0, captured_f_number=4, frame_count=12)
    assert np.allclose(wider[depth == 9.0], 9 + 2 * (5 - 9)) and np.allclose(wider[depth == 2.0], 2 + 2 * (5 - 2))
    sharp = render_index_map(depth, DepthEdit(), focus_frame=None, captured_f_number=4, frame_count=12)
    assert np.array_equal(sharp, depth)


def test_blending_takes_the_two_frames_around_each_fractional_index() -> None:
    frames = RNG.integers(0, 256, (5, 6, 7, 3)).astype(np.uint8)
    stack = np.stack([packed(f) for f in frames])
    index = np.full((6, 7), 2.0, np.float32)
    index[0, 0], index[1, 1] = 3.25, 4.0
    out = blend_at_index(stack, index)
    assert out.shape == (6, 7, 3) and out.dtype == np.uint8
    assert np.array_equal(out[2:], frames[2][2:])
    assert np.array_equal(out[1, 1], frames[4][1, 1])
    expected = 0.75 * frames[3][0, 0].astype(float) + 0.25 * frames[4][0, 0]
    assert np.abs(out[0, 0] - expected).max() <= 1


@pytest.mark.parametrize("body,words", [
    ({"near": 2}, "both near and far"),
    ({"near": 5, "far": 2}, "must not be beyond far"),
    ({"focus": [0.5]}, "focus must be [x, y]"),
    ({"f_number": 0.3}, "f_number must be a number from 0.7"),
    ({"target": "sky"}, "target must be one of background, subject"),
    ({"glow": 1}, "unknown depth edit option 'glow'"),
])
def test_bad_settings_are_refused_naming_the_setting(body: dict[str, object], words: str) -> None:
    with pytest.raises(InvalidInput, match=words.replace("[", r"\[").replace("]", r"\]")):
        DepthEdit.from_dict(body)


def test_settings_survive_their_json_form() -> None:
    edit = DepthEdit.from_dict({"focus": [0.25, 0.75], "f_number": 1.4, "near": 1.5, "far": 4, "target": "subject",
                                "blur": 0.01, "brightness": -0.5, "desaturate": 0.3, "feather": 2})
    assert DepthEdit.from_dict(edit.to_dict()) == edit and edit.adjusts
    assert not DepthEdit().adjusts and not DepthEdit.from_dict({"near": 1, "far": 2}).adjusts


def indexed_depth(objects: list[tuple[np.ndarray, float]], ground: float, tile: int = 8, bleed: int = 3) -> np.ndarray:
    """(H, W) depth as the focus index has it: per tile (a tile an edge crosses, or that the near object's blur
    reaches, ``bleed`` px beyond it, takes the nearer object's depth), smoothed over a tile and interpolated back
    to pixels, so that edges slope over a tile or two, outside the object."""
    h, w = objects[0][0].shape
    tiles = np.full((h // tile, w // tile), ground, np.float32)
    grown = np.ones((2 * bleed + 1, 2 * bleed + 1), np.uint8)
    for mask, depth in sorted(objects, key=lambda o: -o[1]):  # the nearest last: it wins the tiles it crosses
        reach = cv2.dilate(mask.astype(np.uint8), grown).astype(np.float32)
        tiles[cv2.resize(reach, tiles.shape[::-1], interpolation=cv2.INTER_AREA) > 0] = depth
    return cv2.resize(cv2.GaussianBlur(tiles, (3, 3), 0), (w, h), interpolation=cv2.INTER_LINEAR)


def saturation(image: np.ndarray) -> np.ndarray:
    return image.max(axis=2).astype(float) - image.min(axis=2)


def test_a_grey_blurred_background_keeps_no_colour_around_the_subject_or_the_objects_before_it() -> None:
    """The trial's coloured outlines: the depth map slopes at every edge, and its in-between depths that fell in
    the range kept the background's colour around the subject and a ring around a nearer object's rim."""
    h, w = 240, 320
    rows, cols = np.mgrid[:h, :w]
    leaf = np.hypot(rows - 120, cols - 200) < 50  # the subject, frame 5
    coin = np.hypot(rows - 120, cols - 70) < 40  # nearer, frame 1.5: its edge slopes through the range
    texture = cv2.GaussianBlur(np.random.default_rng(7).normal(0, 20, (h, w, 3)).astype(np.float32), (0, 0), 2)
    colours = np.select([leaf[..., None], coin[..., None]], [np.float32([40, 170, 50]), np.float32([30, 160, 200])],
                        np.float32([60, 130, 210]))  # BGR: a green leaf, a gold coin on an orange cork board
    image = np.clip(colours + texture, 0, 255).astype(np.uint8)
    depth = indexed_depth([(leaf, 5.0), (coin, 1.5)], ground=16.0)
    edit = DepthEdit.from_dict({"near": 4, "far": 6, "feather": 1, "target": "background", "desaturate": 1,
                                "blur": 0.02})
    out = finish(adjust(image, edit_weight(depth, edit), edit), np.uint8)  # type: ignore[arg-type]
    kept, before = saturation(out), saturation(image)

    def around(mask: np.ndarray, lo: float, hi: float) -> np.ndarray:
        outside = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)
        return (outside > lo) & (outside <= hi) & ~leaf & ~coin

    far_ground = around(leaf | coin, 30, 1e9)
    assert kept[far_ground].mean() < 1  # the background is grey
    for mask in (leaf, coin):  # and so is it next to them: no fringe, no outline
        band = around(mask, 1, 8)
        assert kept[band].mean() < 4, (kept[band].mean(), before[band].mean())
    inside = cv2.erode(leaf.astype(np.uint8), np.ones((17, 17), np.uint8)).astype(bool)
    assert kept[inside].mean() > 0.97 * before[inside].mean()  # the subject keeps its colour
    assert kept[coin].mean() < 4  # the nearer object is background too, to its rim


def outline_error(selection: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(mean, largest) distance in px from the border of ``selection`` (at one half) to the outline of ``truth``."""
    square = np.ones((3, 3), np.uint8)
    border = cv2.morphologyEx((selection >= 0.5).astype(np.uint8), cv2.MORPH_GRADIENT, square) > 0
    outline = cv2.morphologyEx(truth.astype(np.uint8), cv2.MORPH_GRADIENT, square) > 0
    distance = cv2.distanceTransform((~outline).astype(np.uint8), cv2.DIST_L2, 5)[border]
    return float(distance.mean()), float(distance.max())


def test_a_round_subject_is_selected_round_along_its_outline_not_in_tile_cuts() -> None:
    """The trial's export: the depth map's tiles cut a coin's outline into straight pieces a few tiles long, px off."""
    h, w = 240, 320
    rows, cols = np.mgrid[:h, :w]
    coin = np.hypot(rows - 118.3, cols - 151.7) < 61.5
    texture = cv2.GaussianBlur(np.random.default_rng(5).normal(0, 18, (h, w, 3)).astype(np.float32), (0, 0), 1.5)
    image = np.clip(np.where(coin[..., None], np.float32([40, 150, 200]), np.float32([70, 120, 150])) + texture,
                    0, 255).astype(np.uint8)
    grains = np.random.default_rng(6).integers(0, 320, (120, 2))  # the coin's dark grain, the ground's colour
    for x, y in grains[coin[np.clip(grains[:, 1], 0, h - 1), grains[:, 0]]]:
        cv2.circle(image, (int(x), int(y)), 2, (70, 120, 150), -1)
    depth = indexed_depth([(coin, 3.0)], ground=14.0)
    edit = DepthEdit.from_dict({"near": 2, "far": 4, "target": "background", "desaturate": 1})
    tiles_only = edit_selection(depth, edit)
    assert tiles_only is not None and outline_error(tiles_only, coin)[1] > 4  # what the export showed
    followed = edit_selection(depth, edit, guide=image, tile=8)
    assert followed is not None
    mean, largest = outline_error(followed, coin)
    assert mean < 1.0 and largest <= 3, (mean, largest)
    # it is a selection, not a blur of one: the coin in to its rim, the board out to its edge
    inside = cv2.distanceTransform(coin.astype(np.uint8), cv2.DIST_L2, 5)
    outside = cv2.distanceTransform((~coin).astype(np.uint8), cv2.DIST_L2, 5)
    assert followed[inside > 2].min() > 0.8 and followed[inside > 2].mean() > 0.99 and followed[outside > 2].max() < 0.1
    assert np.array_equal(followed[outside > 30], tiles_only[outside > 30])  # away from it, the depth map decides


def disc_selection(h: int, w: int, radius: float, tile: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A gold disc on a blue ground (H, W, 3) float32, its selection in the depth map's tile cuts (a tile the disc
    crosses is the disc's), and the disc."""
    rows, cols = np.ogrid[:h, :w]
    disc = np.hypot(rows - h / 2, cols - w / 2) < radius
    picture = np.where(disc[..., None], np.float32([40, 150, 200]), np.float32([90, 90, 60]))
    tiles = cv2.resize(disc.astype(np.float32), (w // tile, h // tile), interpolation=cv2.INTER_AREA) > 0
    return cv2.resize(tiles.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR), picture, disc


def test_a_full_size_selection_follows_the_edges_in_bounded_memory() -> None:
    """An export's selection around a large subject: the refinement held 30 bytes a pixel beyond its inputs, over the
    export's budget with the picture and the depth map; worked in bands of rows it holds its result (4) and a few."""
    h, w = 1000, 1500
    selection, picture, disc = disc_selection(h, w, 450, 16)
    tracemalloc.start()
    try:
        followed = follow_edges(selection, picture, tile=16)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak / (h * w) < 18, peak / (h * w)
    assert outline_error(followed, disc)[0] < 1 < outline_error(selection, disc)[0]  # and it did follow them


def test_a_full_size_adjustment_holds_its_result_and_a_few_planes() -> None:
    """The export's blur and desaturation of a background: a dozen colour images at once (112 bytes a pixel) before."""
    h, w = 1000, 1500
    selection, picture, _ = disc_selection(h, w, 450, 16)
    edit = DepthEdit.from_dict({"near": 2, "far": 4, "target": "background", "blur": 0.01, "desaturate": 1})
    tracemalloc.start()
    try:
        out = finish(adjust(picture, 1.0 - selection, edit), np.uint16)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak / (h * w) < 36, peak / (h * w)  # the result is 12 bytes a pixel, 6 once finished
    grey = saturation(out)
    assert grey[h // 2, 5] == 0 and grey[h // 2, w // 2] > 100 * 257  # the background greyed, the subject not


def test_a_full_size_depth_range_is_selected_in_bounded_memory() -> None:
    """The export's selection from the full-size depth map (4 bytes a pixel): 28 bytes a pixel of steps before."""
    h, w = 1000, 1500
    _, _, disc = disc_selection(h, w, 450, 16)
    depth = indexed_depth([(disc, 3.0)], ground=14.0, tile=16)
    edit = DepthEdit.from_dict({"near": 2, "far": 4, "target": "background", "desaturate": 1})
    tracemalloc.start()
    try:
        selection = edit_selection(depth, edit)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak / (h * w) < 20, peak / (h * w)
    assert selection is not None and selection[h // 2, w // 2] == 1 and selection[5, 5] == 0


def test_an_adjustment_in_place_is_the_one_made_on_a_copy() -> None:
    """The export adjusts its float picture in place, holding no second copy of it; the result is the same."""
    selection, picture, _ = disc_selection(240, 320, 80, 8)
    edit = DepthEdit.from_dict({"near": 2, "far": 4, "target": "background", "blur": 0.01, "desaturate": 0.5,
                                "brightness": -1})
    copied = adjust(picture, 1.0 - selection, edit)
    assert not np.array_equal(copied, picture)
    assert adjust(picture, 1.0 - selection, edit, in_place=True) is picture and np.array_equal(picture, copied)


def test_the_bands_of_the_edge_refinement_leave_no_seam(monkeypatch: pytest.MonkeyPatch) -> None:
    selection, picture, _ = disc_selection(240, 320, 80, 8)
    whole = follow_edges(selection, picture, tile=8)
    monkeypatch.setattr(depth_edit, "BAND_PIXELS", 1000)  # bands of 3 rows, narrower than their margins
    assert np.array_equal(follow_edges(selection, picture, tile=8), whole)
