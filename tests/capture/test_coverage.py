"""The post-sweep coverage check: subjects beyond the sweep, lost steps, corrupt frames."""
from __future__ import annotations

import numpy as np

from tether.capture.coverage import Subjects, check_coverage


def curves(centres: list[float], n: int = 12, sigma: float = 2.0) -> np.ndarray:
    x = np.arange(n, dtype=float)
    out = np.empty((n, 1, len(centres)))
    for i, c in enumerate(centres):
        out[:, 0, i] = 5 + 100 * np.exp(-((x - c) ** 2) / (2 * sigma ** 2))
    return out


def thumbs_for(tiles: np.ndarray) -> np.ndarray:
    # thumbnails that change with focus as the tiles do: one band of columns per tile
    cols = tiles.shape[2]
    bands = np.repeat(tiles[:, 0, :], int(np.ceil(64 / cols)), axis=1)[:, :64]
    return np.repeat(bands[:, None, :], 36, axis=1)


def test_complete_sweep_has_no_warnings() -> None:
    tiles = curves([3, 6, 8])
    result = check_coverage(tiles, thumbs_for(tiles), np.ones(len(tiles), bool))
    assert result.warnings == [] and result.duplicates == []


def test_subjects_beyond_either_end_are_reported() -> None:
    tiles = curves([-3, 5, 15])
    result = check_coverage(tiles, thumbs_for(tiles), np.ones(len(tiles), bool))
    assert result.beyond_near == [(0, 0)] and result.beyond_far == [(0, 2)]
    assert any("toward near" in w for w in result.warnings)
    assert any("toward infinity" in w for w in result.warnings)


def test_frames_too_far_apart_name_the_spacing_not_the_range() -> None:
    # a subject sharpest at the last frame, but frames 25 steps apart for a depth of field of 3 cannot tell
    # beyond the last frame from between the last two (issue 16: the farthest subject was inside the range)
    tiles = curves([5, 11.5])
    ok = np.ones(len(tiles), bool)
    sparse = check_coverage(tiles, thumbs_for(tiles), ok, spacing=25.0, dof=3.0)
    assert sparse.sparse and sparse.beyond_far == [(0, 1)]
    assert len(sparse.warnings) == 1 and "25 steps apart" in sparse.warnings[0]
    assert "toward infinity" not in sparse.warnings[0]
    # frames close enough for the depth of field: the same curves do say the subject lies farther
    dense = check_coverage(tiles, thumbs_for(tiles), ok, spacing=3.0, dof=3.0)
    assert not dense.sparse and any("toward infinity" in w for w in dense.warnings)


def test_lost_steps_show_as_duplicates_and_corrupt_frames_are_skipped() -> None:
    tiles = curves([4, 7])
    tiles = np.concatenate([tiles[:5], tiles[4:5] * 1.001, tiles[5:]])  # frame 5 repeats frame 4
    ok = np.ones(len(tiles), bool)
    ok[9] = False
    thumbs = thumbs_for(tiles)
    result = check_coverage(tiles, thumbs, ok, still_threshold=0.5)
    assert result.duplicates == [(4, 5)]
    assert result.corrupt == [9]
    assert any("identical" in w for w in result.warnings) and any("corrupt" in w for w in result.warnings)
    # the warnings are read by a person: the frames counted from 1, as the panel shows them
    assert any("identical (5-6)" in w for w in result.warnings) and any("corrupt (10)" in w for w in result.warnings)


def test_tiles_expected_from_the_prescan_but_never_sharp() -> None:
    tiles = np.full((6, 1, 2), 5.0)
    tiles[:, 0, 0] = [5, 20, 80, 20, 5, 5]
    subjects = Subjects(np.ones((1, 2), bool), np.array([[20.0, 21.0]]), margin=2.0)
    result = check_coverage(tiles, thumbs_for(tiles), np.ones(6, bool), subjects=subjects,
                            positions=[0, 10, 20, 30, 40, 50], spacing=10.0, dof=10.0)
    assert result.never_sharp == [(0, 1)] and not result.between
    assert any("run the pre-scan again" in w for w in result.warnings)


def test_the_prescan_places_subjects_beyond_the_range_or_between_sparse_frames() -> None:
    # frames 17 steps apart for a depth of field of 3; the sweep's curves have a best frame for every tile
    positions = [20.0 + 17 * k for k in range(6)]
    tiles = curves([0, 2.5, 5, 7], n=6, sigma=0.5)
    focus = np.array([[5.0, 62.5, 54.0, 140.0]])  # beyond near, halfway between, at a frame, beyond far
    subjects = Subjects(np.ones((1, 4), bool), focus, margin=4.0)
    result = check_coverage(tiles, thumbs_for(tiles), np.ones(6, bool), subjects=subjects, positions=positions,
                            spacing=17.0, dof=3.0)
    assert result.beyond_near == [(0, 0)] and result.between == [(0, 1)] and result.beyond_far == [(0, 3)]
    assert any("toward near" in w for w in result.warnings) and any("toward infinity" in w for w in result.warnings)
    assert any("1 of 4 tiles hold a subject between two frames" in w and "allow more frames" in w
               for w in result.warnings)


def test_frames_too_far_apart_are_named_whatever_the_curves_say() -> None:
    # every tile peaks inside the sweep, sharply: without the pre-scan's places the spacing alone says it
    tiles = curves([2, 5, 8])
    sparse = check_coverage(tiles, thumbs_for(tiles), np.ones(len(tiles), bool), spacing=17.0, dof=3.0)
    assert sparse.warnings and "17 steps apart" in sparse.warnings[0] and "allow more frames" in sparse.warnings[0]
