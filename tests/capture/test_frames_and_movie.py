"""The live-view frame hub (one read, many viewers) and the movie splitter (frames matched by time)."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np

from tether.camera.types import Frame
from tether.capture.frames import FrameHub
from tether.capture.modes.movie import matched_frames
from tether.capture.sharpness import looks_like_jpeg, summarize


def frame(n: int) -> Frame:
    return Frame(bytes([n]), time.time(), 1, 1)


def test_hub_fans_one_frame_out_to_every_viewer() -> None:
    hub = FrameHub()
    assert hub.latest() is None and hub.wait_next(0, 0.01) is None
    got: list[list[int]] = [[], [], []]

    def viewer(k: int) -> None:
        seq = 0
        while len(got[k]) < 3:
            item = hub.wait_next(seq, 2.0)
            assert item is not None
            seq = item[0]
            got[k].append(item[1].data[0])

    threads = [threading.Thread(target=viewer, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for n in range(1, 4):
        time.sleep(0.05)
        hub.publish(frame(n))
    for t in threads:
        t.join(5)
    assert got == [[1, 2, 3]] * 3
    assert hub.latest()[0] == 3 and hub.viewed_within(5)


def test_slow_viewer_skips_to_the_newest_frame() -> None:
    hub = FrameHub()
    for n in range(1, 6):
        hub.publish(frame(n))
    seq, newest = hub.wait_next(1, 0.1)
    assert seq == 5 and newest.data == bytes([5])


def write_movie(path: Path, values: list[int], fps: float = 30.0) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    assert writer.isOpened()
    for v in values:
        writer.write(np.full((48, 64, 3), v, np.uint8))
    writer.release()


def test_movie_frames_are_matched_to_the_middle_of_each_rest(tmp_path: Path) -> None:
    # frame i has grey level 4 * i; rests cover frames 3-5, 10-14 and 20-22 (at 30 fps)
    values = [4 * i for i in range(30)]
    path = tmp_path / "m.avi"
    write_movie(path, values)
    rests = [(3 / 30, 5 / 30, 10.0), (10 / 30, 14 / 30, 20.0), (20 / 30, 22 / 30, 30.0)]
    got = list(matched_frames(path.read_bytes(), rests))
    assert len(got) == 3
    levels = [round(float(gray.mean()) / 4) for _, gray, _ in got]
    assert levels == [4, 12, 21]


def test_summaries_flag_bytes_that_do_not_decode() -> None:
    image = (np.random.default_rng(0).random((90, 160)) * 255).astype(np.uint8)
    data = cv2.imencode(".jpg", image)[1].tobytes()
    good = summarize(data, width=160)
    assert good.ok and good.tiles.shape == (9, 16) and good.tiles.min() > 0
    assert looks_like_jpeg(data) and not looks_like_jpeg(data[: len(data) // 2])
    assert not summarize(b"not a jpeg").ok
