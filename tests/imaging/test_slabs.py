"""Slabbing: overlapping slabs cover the frames; each kept slab is the stack of its frames; the stack of the
slabs is as sharp as the stack of all frames."""
from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from tether.imaging import ArrayFrames, ImagingError, compute_focus_index, stack_frames
from tether.imaging.slabs import OVERLAP, plan_slabs, stack_slabs


def test_slabs_cover_every_frame_and_overlap() -> None:
    for frames, count in ((range(200), 10), (range(3, 40), 4), (range(12), 2)):
        slabs = plan_slabs(frames, count)
        assert len(slabs) == count and slabs[0].start == frames.start and slabs[-1].stop == frames.stop
        assert len({len(s) for s in slabs}) == 1
        for a, b in itertools.pairwise(slabs):
            assert a.start < b.start and a.stop - b.start >= OVERLAP
    for frames, count in ((range(4), 3), (range(10), 1)):
        with pytest.raises(ImagingError):
            plan_slabs(frames, count)


def test_the_stack_of_slabs_is_as_sharp_and_keeps_each_slab(synthetic) -> None:
    stack = synthetic(n=24, shape=(120, 160), blur_per_frame=0.5, seed=9)
    source = ArrayFrames(stack.frames)
    index = compute_focus_index(source)
    seen = []
    slabbed = stack_slabs(source, count=4, index=index, progress=lambda d, t, s: seen.append((d, t, s)))
    plain = stack_frames(source, index=index)
    assert len(slabbed.pictures) == 4 and slabbed.slabs == plan_slabs(range(24), 4)
    assert slabbed.result.image.shape == plain.image.shape and slabbed.result.index is index
    assert cv2.PSNR(slabbed.result.image, stack.sharp) > cv2.PSNR(plain.image, stack.sharp) - 1.0
    best = max(cv2.PSNR(f, stack.sharp) for f in stack.frames)
    assert cv2.PSNR(slabbed.result.image, stack.sharp) > best + 3
    second = stack_frames(source, index=index, frames=slabbed.slabs[1]).image
    np.testing.assert_array_equal(slabbed.pictures.read(1), second)  # kept losslessly
    assert [d / t for d, t, _ in seen] == sorted(d / t for d, t, _ in seen) and seen[-1][0] == seen[-1][1]
    assert "slab 1 of 4" in seen[0][2] and "the slabs" in seen[-1][2]


def test_tether_stack_slabs_on_files(synthetic, run_tether, tmp_path) -> None:
    stack = synthetic(n=12, shape=(120, 160), blur_per_frame=0.5, seed=4)
    paths = []
    for k, frame in enumerate(stack.frames):
        paths.append(str(tmp_path / f"f{k:02d}.png"))
        cv2.imwrite(paths[-1], frame)
    out = tmp_path / "slabbed.png"
    result = run_tether("stack", *paths, "--slabs", "3", "--out", str(out), check=True)
    assert f"wrote {out}" in result.stdout and "3 slabs" in result.stdout
    image = cv2.imread(str(out))
    assert cv2.PSNR(image, stack.sharp) > max(cv2.PSNR(f, stack.sharp) for f in stack.frames) + 3
    for slabs, words in (("1", "--slabs"), ("20", "use fewer slabs")):
        refused = run_tether("stack", *paths, "--slabs", slabs, "--out", str(tmp_path / "no.png"))
        assert refused.returncode != 0 and words in refused.stderr and not (tmp_path / "no.png").exists()
