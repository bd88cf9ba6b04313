"""Pass 1 one frame at a time (FocusIndexBuilder) and the live stack preview built from it (LiveStack)."""
from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from tether.imaging import ArrayFrames, MismatchedFrames, TooFewFrames, compute_focus_index, stack_frames
from tether.imaging.analysis import FocusIndexBuilder
from tether.imaging.io import shrink
from tether.imaging.live_stack import LiveStack
from tether.imaging.transforms import corner_shift


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    x = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY).astype(np.float64).ravel()
    y = cv2.cvtColor(b, cv2.COLOR_BGR2GRAY).astype(np.float64).ravel()
    return float(np.corrcoef(x, y)[0, 1])


def _detail(image: np.ndarray) -> float:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return float(np.mean(cv2.Laplacian(grey, cv2.CV_32F) ** 2))


def test_the_builder_fed_as_frames_arrive_gives_the_index_of_pass_1(synthetic) -> None:
    stack = synthetic(10, (180, 240), breathing=0.004, seed=3)
    builder = FocusIndexBuilder((180, 240))
    found = [builder.add(shrink(f, builder.read_reduce)) for f in stack.frames]
    index = builder.finish()
    whole = compute_focus_index(ArrayFrames(stack.frames))
    assert index.to_bytes() == whole.to_bytes()
    assert np.array_equal(index.transforms, whole.transforms) and index.excluded == whole.excluded
    # what each frame was told as it came already places it where the settled index does, to a fraction of a pixel
    assert [f.index for f in found] == list(range(10)) and all(f.registered for f in found)
    for f, settled in zip(found, index.transforms, strict=True):
        assert corner_shift(np.linalg.inv(settled) @ f.transform, (180, 240)) < 0.5


def test_a_frame_of_another_scene_is_answered_as_not_registered_and_left_out(synthetic) -> None:
    frames = synthetic(8, (120, 160), seed=1).frames
    frames[4] = synthetic(8, (120, 160), seed=99).frames[4]
    builder = FocusIndexBuilder((120, 160))
    found = [builder.add(f) for f in frames]
    assert [f.registered for f in found] == [True] * 4 + [False] + [True] * 3
    index = builder.finish()
    assert index.excluded == (4,) and not index.scores[4].any()


def test_the_builder_refuses_a_frame_of_another_size_and_an_empty_sweep() -> None:
    builder = FocusIndexBuilder((120, 160))
    with pytest.raises(TooFewFrames):
        builder.finish()
    builder.add(np.full((120, 160, 3), 128, np.uint8))
    with pytest.raises(MismatchedFrames, match=r"^frame 2 is 160x100 as read, expected about 160x120: .* one size"):
        builder.add(np.full((100, 160, 3), 128, np.uint8))  # the second, counted from 1


def test_in_memory_frames_of_two_sizes_name_the_odd_one_counted_from_1() -> None:
    same = np.zeros((120, 160, 3), np.uint8)
    with pytest.raises(MismatchedFrames, match=r"^frame 3 is 160x100 uint8, frame 1 is 160x120 uint8$"):
        ArrayFrames([same, same, np.zeros((100, 160, 3), np.uint8)])


def test_the_live_stack_builds_up_frame_by_frame_with_the_stacks_framing(synthetic) -> None:
    n, shape = 12, (240, 320)
    stack = synthetic(n, shape, breathing=0.005, seed=5)
    builder = FocusIndexBuilder(shape)
    live = LiveStack(shape, long_side=160)
    assert live.size == (120, 160) and not live.image().any()  # black before the first frame
    previews = []
    for frame in stack.frames:
        small = shrink(frame, builder.read_reduce)
        live.add(small, builder.add(small))
        previews.append(live.image())
    # every frame changes it (its sharp band comes in), and the sharp picture grows
    assert all(not np.array_equal(a, b) for a, b in itertools.pairwise(previews))
    final = cv2.resize(stack_frames(ArrayFrames(stack.frames), index=builder.finish()).image, (160, 120),
                       interpolation=cv2.INTER_AREA)
    assert _correlation(previews[-1], final) > 0.95
    assert _correlation(previews[-1], final) > max(_correlation(previews[k], final) for k in (0, n // 2))
    # sharper than any one frame: what a preview is for
    assert _detail(previews[-1]) > max(_detail(cv2.resize(f, (160, 120), interpolation=cv2.INTER_AREA))
                                       for f in stack.frames)
    # the framing is frame 0's, as the stack's: the preview lies on the stack, not on the last (breathed) frame
    last = cv2.resize(stack.frames[-1], (160, 120), interpolation=cv2.INTER_AREA)
    shift_to_stack = cv2.phaseCorrelate(*(cv2.cvtColor(x, cv2.COLOR_BGR2GRAY).astype(np.float32)
                                          for x in (previews[-1], final)))[0]
    assert np.hypot(*shift_to_stack) < 0.5
    assert _correlation(previews[-1], final) > _correlation(previews[-1], last)
