"""Reading ahead: pass 1's frames decoded, and pass 2's read and warped, on a worker thread, one frame
ahead, as the source gives them."""
from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from tether.imaging import METHODS, ArrayFrames, compute_focus_index, stack_frames
from tether.imaging.io import reading_ahead


class _Counted(ArrayFrames):
    """Frames that record which thread read which frame at which scale."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        super().__init__(frames)
        self.reads: list[tuple[int, int, int]] = []

    def read(self, i: int, *, reduce: int = 1) -> np.ndarray:
        self.reads.append((i, reduce, threading.get_ident()))
        return super().read(i, reduce=reduce)


def _frames(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.integers(0, 256, (48, 64, 3), np.uint8) for _ in range(n)]


def test_frames_read_in_order_are_each_decoded_once_on_one_worker_thread() -> None:
    source = _Counted(_frames(5))
    with reading_ahead(source) as ahead:
        got = [ahead.read(i, reduce=2) for i in range(5)]
    for i, image in enumerate(got):
        assert np.array_equal(image, ArrayFrames(source.frames).read(i, reduce=2))
    assert [(i, r) for i, r, _ in source.reads] == [(i, 2) for i in range(5)]
    threads = {t for _, _, t in source.reads}
    assert len(threads) == 1 and threading.get_ident() not in threads


def test_reads_out_of_order_or_at_another_scale_give_the_frame_asked_for() -> None:
    source = _Counted(_frames(6))
    with reading_ahead(source) as ahead:
        for i, reduce in ((0, 1), (4, 1), (4, 2), (1, 4), (5, 1), (2, 1)):
            assert np.array_equal(ahead.read(i, reduce=reduce), ArrayFrames(source.frames).read(i, reduce=reduce))
    assert ahead.shape == source.shape and len(ahead) == 6 and ahead.exif_source() is None


def test_the_worker_ends_with_the_block_and_an_error_reaches_the_reader() -> None:
    before = {t.ident for t in threading.enumerate()}
    source = _Counted(_frames(3))
    with reading_ahead(source) as ahead:
        with pytest.raises(IndexError):
            ahead.read(7)
        assert np.array_equal(ahead.read(2), source.frames[2])  # and the source is still read after it
    assert {t.ident for t in threading.enumerate()} <= before


def test_the_focus_index_read_ahead_is_the_one_read_directly() -> None:
    frames = _frames(4)
    direct = compute_focus_index(ArrayFrames(frames))
    with reading_ahead(ArrayFrames(frames)) as ahead:
        ahead_index = compute_focus_index(ahead)
    assert np.array_equal(direct.scores, ahead_index.scores)
    assert np.array_equal(direct.transforms, ahead_index.transforms)


def test_pass_2_reads_ahead_on_one_worker_each_frame_once_and_makes_the_same_picture(monkeypatch) -> None:
    frames = _frames(4)
    index = compute_focus_index(ArrayFrames(frames), align=False)
    source = _Counted(frames)
    ahead = stack_frames(source, index=index)  # small frames: pass 2 reads the next frame ahead
    assert [(i, r) for i, r, _ in source.reads] == [(i, 1) for i in range(4)]
    threads = {t for _, _, t in source.reads}
    assert len(threads) == 1 and threading.get_ident() not in threads
    plain = dataclasses.replace(METHODS["pyramid"], reads_ahead=lambda *_: False)
    monkeypatch.setitem(METHODS, "pyramid", plain)
    assert np.array_equal(stack_frames(ArrayFrames(frames), index=index).image, ahead.image)
