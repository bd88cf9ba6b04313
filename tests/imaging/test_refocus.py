"""Refocus index: taps find the sharp frame, answers are ranked, the index survives storage."""
from __future__ import annotations

import time

import numpy as np
import pytest

from tether.imaging import ArrayFrames, FocusIndex, ImagingError, compute_focus_index


@pytest.fixture(scope="module")
def stack_and_index(synthetic):
    stack = synthetic(n=14, shape=(180, 240), breathing=0.002, seed=5)
    return stack, compute_focus_index(ArrayFrames(stack.frames))


def test_taps_pick_the_sharp_frame(stack_and_index) -> None:
    stack, index = stack_and_index
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(100):
        y, x = int(rng.integers(10, 170)), int(rng.integers(10, 230))
        hits += abs(index.refocus(x, y).frame - stack.depth[y, x]) <= 1.0
    assert hits >= 95


def test_answer_has_confidence_and_alternatives(stack_and_index) -> None:
    _, index = stack_and_index
    answer = index.refocus(120, 90)
    assert 0.0 <= answer.confidence <= 1.0
    assert answer.frame not in answer.alternatives
    assert len(set(answer.alternatives)) == len(answer.alternatives) >= 2
    assert set(answer.to_dict()) == {"frame", "confidence", "alternatives", "moving"}


def test_round_trip_through_bytes_answers_alike(stack_and_index) -> None:
    _, index = stack_and_index
    again = FocusIndex.from_bytes(index.to_bytes())
    assert again.shape == index.shape and again.frame_count == index.frame_count
    assert np.allclose(again.transforms, index.transforms)
    for x, y in ((10, 10), (120, 90), (230, 170)):
        assert again.refocus(x, y).frame == index.refocus(x, y).frame
    assert len(index.to_bytes()) < 100_000


def test_a_tap_is_fast_from_a_loaded_index(stack_and_index) -> None:
    _, index = stack_and_index
    loaded = FocusIndex.from_bytes(index.to_bytes())
    loaded.refocus(5, 5)  # first call builds the per-tile maps
    start = time.perf_counter()
    for _ in range(100):
        loaded.refocus(200, 100)
    # Not a benchmark: a guard against recomputing per tap (that would be ~100x slower).
    assert (time.perf_counter() - start) / 100 < 0.02


def test_bad_points_and_blobs_are_clear_errors(stack_and_index) -> None:
    _, index = stack_and_index
    with pytest.raises(ImagingError, match="outside"):
        index.refocus(240, 10)
    with pytest.raises(ImagingError, match="damaged"):
        FocusIndex.from_bytes(b"not an index")


def test_depth_follows_the_scene(stack_and_index) -> None:
    stack, index = stack_and_index
    depth = index.depth()
    assert depth.shape == stack.depth.shape
    inner = (slice(20, -20), slice(20, -20))
    assert np.median(np.abs(depth - stack.depth)[inner]) < 0.75
