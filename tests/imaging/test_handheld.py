"""Handheld sweeps (issue 13, item 2): frames that shake as well as breathe are registered and stacked,
and a frame that cannot be registered (another scene, no texture) is named and left out.

Each frame after the first is moved off frame 0's framing by its own random homography
(``independent_render.Shake``: up to 3 % of the frame in translation, 1.5 deg of rotation and a
0.4 % tilt). On both renderers the handheld stack is scored against the tripod stack of the same
scene, inside the box every handheld frame covers (outside it a stack can only repeat edge pixels).
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.imaging.independent_render import CANVAS_MARGIN, Shake, render_stack
from tests.imaging.registration import breathing_truth, psnr, score
from tether.burst import BurstWriter, FrameMeta
from tether.camera.sim import optics
from tether.camera.sim.sensor import NoiseSource
from tether.camera.sim.truth import SceneTruth
from tether.config import Settings
from tether.engine import Engine
from tether.imaging import ArrayFrames, StackResult, stack_frames
from tether.imaging import transforms as tf
from tether.imaging.handheld import equalise_blur

SHAKE = Shake()
SIZE = (640, 480)  # (width, height)
FRAMES = 12


def _box_mask(result: StackResult) -> np.ndarray:
    r0, r1, c0, c1 = result.valid_box
    mask = np.zeros(result.image.shape[:2], bool)
    mask[r0:r1, c0:c1] = True
    return mask


def _pixel_shakes(n: int, size: tuple[int, int]) -> list[np.ndarray]:
    """(3, 3) per frame in pixels: where a point of the steady frame lands in the shaken one (frame 0 steady)."""
    w, h = size
    to_centre = np.array([[1, 0, -(w - 1) / 2], [0, 1, -(h - 1) / 2], [0, 0, 1]])
    rng = np.random.default_rng(SHAKE.seed)
    centred = [np.eye(3)] + [SHAKE.homography(rng, w, h) for _ in range(n - 1)]
    return [np.linalg.inv(to_centre) @ m @ to_centre for m in centred]


@functools.cache
def _independent(shaken: bool) -> tuple[list[np.ndarray], np.ndarray]:
    """Frames and truth of the independent renderer's sweep, handheld or on a tripod (the same scene)."""
    stack = render_stack(SIZE, frames=FRAMES, breathing=0.002, shake=SHAKE if shaken else None,
                         margin=CANVAS_MARGIN + SHAKE.reach)
    return stack.frames, stack.truth


@functools.cache
def _simulated(shaken: bool) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Frames of tether's simulator (breathing), each shaken after rendering when ``shaken``; the transform
    from frame 0's pixels to each frame's; the all-in-focus truth in frame 0's geometry."""
    truth = SceneTruth("macro", seed=0)
    targets = [o.focus_position for o in truth.objects]
    positions = [float(p) for p in np.linspace(min(targets) - 6, max(targets) + 6, FRAMES)]
    shakes = _pixel_shakes(FRAMES, SIZE) if shaken else [np.eye(3)] * FRAMES
    cache, sensor = optics.LayerCache(), NoiseSource(0)
    frames, geometry = [], []
    for p, shake in zip(positions, shakes, strict=True):
        clean = optics.render("macro", p, SIZE, breathing=True, seed=0, cache=cache)
        # What the steady frame shows at shake^-1(x), the shaken one shows at x; the mirrored
        # border lies outside the box all frames cover, where nothing is scored.
        moved = cv2.warpPerspective(clean, np.linalg.inv(shake), SIZE, borderMode=cv2.BORDER_REFLECT,
                                    flags=cv2.INTER_LANCZOS4 | cv2.WARP_INVERSE_MAP)
        frames.append(sensor.add(moved, 1.6))
        geometry.append(shake @ tf.homogeneous(breathing_truth(p, positions[0], SIZE)))
    return frames, geometry, truth.all_in_focus(SIZE, focus_position=positions[0])


@functools.cache
def _stacked(renderer: str, shaken: bool) -> StackResult:
    """The stack of one of the sweeps above (pure, so tests may share it)."""
    frames = (_independent if renderer == "independent" else _simulated)(shaken)[0]
    return stack_frames(ArrayFrames(frames))


def test_a_handheld_stack_is_within_half_a_db_of_the_tripod_stack_on_the_independent_renderer() -> None:
    # Measured: 33.25 dB both (inside the handheld stack's covered box); corners 0.69 / 0.85 px RMS / max off.
    handheld, tripod = _stacked("independent", True), _stacked("independent", False)
    truth = _independent(False)[1]
    box = _box_mask(handheld)
    hand_db, tripod_db = score(handheld.image, truth, box).psnr, score(tripod.image, truth, box).psnr
    assert hand_db >= tripod_db - 0.5, (hand_db, tripod_db)
    # The edges a shaken frame does not cover are not a moving subject: nothing is taken from one frame.
    assert not handheld.index.motion.any()


def test_a_handheld_stack_is_within_half_a_db_of_the_tripod_stack_on_the_simulator() -> None:
    # On the simulator a focus step fakes more motion (hard occluding edges, wide disks), and a handheld
    # chain takes every step: registered on the frames as they are, 26.9 dB against the tripod's 29.8.
    # Each handheld step is refined on the pair made alike in blur (tether.imaging.handheld): 30.0.
    handheld, tripod = _stacked("simulator", True), _stacked("simulator", False)
    truth = _simulated(False)[2]
    box = _box_mask(handheld)
    hand_db, tripod_db = psnr(handheld.image, truth, box), psnr(tripod.image, truth, box)
    assert hand_db >= tripod_db - 0.5, (hand_db, tripod_db)


def test_a_pair_made_alike_in_blur_differs_only_by_the_motion() -> None:
    # Frame a sharp on the left and blurred on the right, frame b the other way round and moved by
    # (2.5, -1.5) px: made alike, each side is as blurred in both, and in b's own geometry still.
    rng = np.random.default_rng(3)
    scene = cv2.GaussianBlur(rng.uniform(0, 255, (240, 360)).astype(np.float32), (0, 0), 1.2)
    step = np.array([[1.0, 0.0, 2.5], [0.0, 1.0, -1.5], [0.0, 0.0, 1.0]])
    moved = tf.warp_to_reference(scene, tf.invert(step), interpolation=cv2.INTER_LINEAR)  # b shows scene(x) at step(x)
    soft_a, soft_b = cv2.GaussianBlur(scene, (0, 0), 1.5), cv2.GaussianBlur(moved, (0, 0), 1.5)
    a, b = scene.copy(), moved.copy()
    a[:, 180:] = soft_a[:, 180:]
    b[:, :183] = soft_b[:, :183]  # b's left half is the scene's left half, 2.5 px on

    def difference(x: np.ndarray, y: np.ndarray) -> float:
        placed = tf.warp_to_reference(y, step, interpolation=cv2.INTER_LINEAR)
        return float(np.sqrt(np.mean((x - placed)[20:-20, 20:-20] ** 2)))

    a2, b2 = equalise_blur(a, b, step, tile=16)
    assert difference(a2, b2) < difference(a, b) / 3, (difference(a2, b2), difference(a, b))
    # The sharp side of each is what was blurred, to the other's blur; the blurred side is left as it was.
    left, right = (slice(20, -20), slice(20, 130)), (slice(20, -20), slice(240, -20))
    assert np.abs(a2 - soft_a)[left].mean() < 0.1 < 5 < np.abs(a - soft_a)[left].mean()
    assert np.abs(b2 - soft_b)[right].mean() < 0.1
    assert np.array_equal(a2[right], a[right]) and np.array_equal(b2[left], b[left])


# What the focus fakes still adds up along a handheld chain, if less: the corners 1.83 / 2.31 px RMS / max
# off over 12 frames (2.24 / 2.94 on the frames as they are; the tripod's 1.07 / 1.24, so the 0.3 px bound
# is beyond the tripod chain too). docs/stacking.md ("Handheld sweeps") lists what was measured against it.
_FAKE_ADDS_UP = pytest.mark.xfail(strict=True, reason="issue 13, item 2: a handheld chain adds up what focus fakes")


@_FAKE_ADDS_UP
def test_shake_and_breathing_are_registered_to_a_third_of_a_pixel() -> None:
    geometry = _simulated(True)[1]
    index = _stacked("simulator", True).index
    w, h = SIZE
    corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], np.float64)
    errors = [float(np.hypot(*(tf.project(m, corners) - tf.project(g, corners)).T).max())
              for m, g in zip(index.transforms, geometry, strict=True)]
    moved = [tf.corner_shift(g, (h, w)) for g in geometry]
    assert max(moved) > 10, moved  # the hand did move the frames, by tens of pixels
    assert max(errors) <= 0.3, np.round(errors, 2)


def test_the_fully_covered_box_shrinks_by_what_the_hand_moved() -> None:
    handheld, tripod = _stacked("simulator", True), _stacked("simulator", False)
    # At 640 x 480 the simulator's breathing crops are one pixel on every frame, so the tripod frames cover
    # the picture (the aligner takes what focus fakes on this sweep for a shrink of about a pixel: nothing lost).
    assert tripod.uncovered < 0.02, tripod.uncovered
    # Up to 3 % of the frame each way and the corners of a 1.5 deg turn: a tenth of the picture or more.
    assert 0.08 < handheld.uncovered < 0.3, handheld.uncovered


def test_the_stack_job_carries_the_covered_box_for_the_panel(data_dir: Path) -> None:
    settings = Settings().with_overrides({"paths": {"data_dir": str(data_dir)}})
    engine = Engine(settings, camera_id="sim:macro", simulated=True, workers=1)
    try:
        burst_id, path = engine.store.new_burst_path()
        with BurstWriter.create(path, camera={"model": "Test rig"}, sweep={"mode": "liveview"}) as writer:
            for k, frame in enumerate(_independent(True)[0][::3]):  # four frames are enough to shake
                data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
                writer.append(data, FrameMeta(captured_at=1_700_000_000 + k, focus_position=10 * k))
        done = engine.bursts.start_stack(burst_id, method="pyramid", fmt="png", frames=None).future.result(timeout=120)
    finally:
        engine.close()
    r0, r1, c0, c1 = done["covered_box"]
    w, h = SIZE
    assert 0 < r0 < r1 < h and 0 < c0 < c1 < w, done
    assert done["uncovered"] == pytest.approx(1 - (r1 - r0) * (c1 - c0) / (w * h), abs=1e-4)


def _intruders(size: tuple[int, int], foreign: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(position, frame): a frame of another scene and one with no texture (a lens cap), to slip into a sweep."""
    w, h = size
    blank = NoiseSource(5).add(np.full((h, w, 3), 120, np.uint8), 1.6)
    return [(4, foreign), (9, blank)]


def _with(frames: list[np.ndarray], intruders: list[tuple[int, np.ndarray]]) -> list[np.ndarray]:
    out = list(frames)
    for position, frame in intruders:
        out.insert(position, frame)
    return out


def test_the_cli_names_the_frames_it_left_out_and_says_how_much_cropping_would_cut(run_tether,
                                                                                 tmp_path: Path) -> None:
    frames = _independent(True)[0]
    foreign = render_stack(SIZE, frames=3, seed=5).frames[1]
    paths = []
    for k, frame in enumerate(_with(frames, _intruders(SIZE, foreign))):
        paths.append(tmp_path / f"frame{k:02d}.png")
        cv2.imwrite(str(paths[-1]), frame)
    out = tmp_path / "stack.png"
    said = run_tether("stack", *map(str, paths), "--out", str(out), check=True).stdout
    assert re.findall(r"warning: (\S+) could not be registered", said) == ["frame04.png", "frame09.png"], said
    assert f"{len(frames)} frames" in said, said
    # Left out, not blended: the picture is the one the handheld sweep alone gives.
    handheld = _stacked("independent", True)
    assert np.array_equal(cv2.imread(str(out)), handheld.image)
    # Reported, not cropped: frame 0's framing is kept, and the note says what cropping would cut.
    box = re.search(r"rows (\d+)-(\d+), columns (\d+)-(\d+) fully; cropping to that cuts ([\d.]+) %", said)
    assert box, said
    r0, r1, c0, c1 = handheld.valid_box
    assert [int(v) for v in box.groups()[:4]] == [r0, r1 - 1, c0, c1 - 1], said
    assert float(box.group(5)) == pytest.approx(100 * handheld.uncovered, abs=0.05), said
    assert 5 < float(box.group(5)) < 30, said  # the hand moved the frames by up to 3 % each way


def test_a_frame_of_another_scene_and_a_blank_one_are_left_out_on_the_simulator() -> None:
    frames = _simulated(False)[0]
    foreign = NoiseSource(6).add(optics.render("portrait", 120.0, SIZE, breathing=True, seed=0), 1.6)
    mixed = stack_frames(ArrayFrames(_with(frames, _intruders(SIZE, foreign))))
    assert mixed.excluded == (4, 9), mixed.excluded
    assert mixed.index.excluded == (4, 9)
    assert np.array_equal(mixed.image, _stacked("simulator", False).image)
