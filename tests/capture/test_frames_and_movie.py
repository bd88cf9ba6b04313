"""The live-view frame hub (one read, many viewers) and where the lens was in each movie frame."""
from __future__ import annotations

import threading
import time
from dataclasses import replace

import cv2
import numpy as np
import pytest

from tether.camera.types import Frame
from tether.capture.frames import FrameHub
from tether.capture.movie_timing import Command, Timing, estimate, placed, told_path
from tether.capture.sharpness import looks_like_jpeg, summarize
from tether.capture.step_plan import TilePeak


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


def synthetic_sweep(shift: float, speed: float, fps: float = 30.0) -> tuple[list[Command], np.ndarray, list[TilePeak]]:
    """Commands of 4 steps every 1/30 s; tiles peaking (Gaussian, sigma 3 steps) where a lens moving at
    ``speed``, ``shift`` seconds off the commands' clock, passes their pre-scan positions."""
    commands = [Command(i / fps + 0.004, 20.0 + 4 * i) for i in range(40)]
    commands[0] = Command(0.0, 20.0)
    frames = np.arange(70)
    lens = told_path(commands, speed, frames / fps + shift)
    wanted = np.linspace(40, 160, 24)
    tiles = np.stack([np.exp(-0.5 * ((lens - q) / 3.0) ** 2) + 0.05 for q in wanted], axis=1)
    peaks = [TilePeak(0, i, float(q), 3.0, 1.0, 0.05, 20.0, True) for i, q in enumerate(wanted)]
    return commands, tiles.reshape(70, 1, 24).astype(np.float32), peaks


@pytest.mark.parametrize("latency,speed", [(0.05, 400.0), (0.3, 150.0), (0.17, float("inf"))])
def test_movie_timing_finds_the_latency_and_the_lens_motion(latency: float, speed: float) -> None:
    commands, tiles, peaks = synthetic_sweep(-latency, speed)
    timing = estimate(commands, tiles, peaks, 30.0)
    truth = told_path(commands, speed, np.arange(70) / 30.0 - latency)
    assert abs(timing.shift + latency) < 1 / 30, timing.shift  # within a frame: a fast lens leaves some play
    assert np.abs(timing.positions - truth).max() < 1.0
    assert timing.tiles == 24 and timing.confidence.min() > 0.3


def test_movie_timing_without_subject_peaks_says_it_is_unsure() -> None:
    commands, tiles, _ = synthetic_sweep(-0.1, 400.0)
    timing = estimate(commands, tiles, [], 30.0)
    assert timing.tiles == 0 and not timing.confidence.any()
    assert timing.positions[0] == 20.0 and timing.positions[-1] == commands[-1].position


def test_summaries_flag_bytes_that_do_not_decode() -> None:
    image = (np.random.default_rng(0).random((90, 160)) * 255).astype(np.uint8)
    data = cv2.imencode(".jpg", image)[1].tobytes()
    good = summarize(data, width=160)
    assert good.ok and good.tiles.shape == (9, 16) and good.tiles.min() > 0
    assert looks_like_jpeg(data) and not looks_like_jpeg(data[: len(data) // 2])
    assert not summarize(b"not a jpeg").ok


def test_a_stalled_command_is_placed_where_the_frames_show_the_lens_moved() -> None:
    # A loaded machine stalls one drive call for 0.3 s and the camera acts at its end; the sweep's loop
    # then sends the late commands at once. The call's middle would put the lens ahead for 5 frames.
    fps, latency, speed, stalled, stall = 30.0, 0.12, 400.0, 20, 0.3
    sent = np.arange(60) / fps
    sent[stalled + 1:] = np.maximum(sent[stalled + 1:], sent[stalled] + stall + 0.002 * np.arange(1, 60 - stalled))
    acted = sent.copy()
    acted[stalled] += stall
    commands = [Command(0.0, 20.0), *(Command(t, 20.0 + 2 * i, 0.002) for i, t in enumerate(sent[1:], 1))]
    commands[stalled] = Command(sent[stalled] + stall / 2, commands[stalled].position, stall)
    times = np.arange(90) / fps - latency
    lens = told_path([replace(c, time=t) for c, t in zip(commands, acted, strict=True)], speed, times)
    rng = np.random.default_rng(3)
    thumbs = 128 + 60 * np.sin(rng.uniform(0, 2 * np.pi, (18, 32)) + 0.4 * lens[:, None, None])
    timed = placed(commands, speed, -latency, (thumbs + rng.normal(0, 1, thumbs.shape)).astype(np.float32), fps)
    assert abs(timed[stalled].time - acted[stalled]) < 1 / fps, timed[stalled]
    misses = np.round(told_path(timed, speed, times)) - np.round(lens)
    assert np.mean(np.abs(misses) <= 1) >= 0.95, misses.tolist()


def estimated(commands: list[Command], lens: np.ndarray, fps: float, rng: np.random.Generator) -> Timing:
    """The estimate from a movie whose frames show the lens at ``lens`` (small steps, one a frame): 30 subject
    tiles peaking along the sweep with 3 % noise, and thumbnails of a texture that shifts with the focus."""
    n = len(lens)
    wanted = np.linspace(40, 150, 30)
    tiles = np.stack([np.exp(-0.5 * ((lens - q) / 6.0) ** 2) * (1 + rng.normal(0, 0.03, n)) + 0.05 for q in wanted],
                     axis=1)
    peaks = [TilePeak(0, i, float(q), 6.0, 1.0, 0.05, 20.0, True) for i, q in enumerate(wanted)]
    thumbs = 128 + 60 * np.sin(rng.uniform(0, 2 * np.pi, (18, 32)) + 0.4 * lens[:, None, None])
    return estimate(commands, tiles.reshape(n, 1, 30).astype(np.float32), peaks, fps,
                    (thumbs + rng.normal(0, 1, thumbs.shape)).astype(np.float32))


@pytest.mark.parametrize("seed", [1, 5, 9])
def test_a_lens_that_keeps_up_is_not_taken_for_one_crawling_at_the_commands_pace(seed: int) -> None:
    # Two steps a frame, each acting 82 ms after its call, give or take a loaded machine's 8 ms: every
    # frame changes alike, as it would for a lens moving just faster than the commands. That lens lags the
    # path by about a step and placed a loaded machine's movies a step late.
    fps, n, rng = 30.0, 100, np.random.default_rng(seed)
    sent = np.arange(70) / fps + 0.003
    acted = sent + rng.normal(0, 0.008, len(sent))
    commands = [Command(0.0, 20.4), *(Command(t, 20.4 + 2 * i, 0.003) for i, t in enumerate(sent[1:], 1))]
    lens = told_path([replace(c, time=t) for c, t in zip(commands, acted, strict=True)], float("inf"),
                     np.arange(n) / fps - 0.082) - 0.4  # the lens's own count: the counted one is 0.4 off
    timing = estimated(commands, lens, fps, rng)
    assert timing.speed > 5 * 60.0, timing.speed  # the commands ask for 60 steps a second
    assert abs(timing.shift + 0.082) < 1 / fps, timing.shift  # not a whole frame off
    assert np.mean(np.abs(np.round(timing.positions) - np.round(lens)) <= 1) >= 0.95


def test_a_first_focus_call_stalled_between_its_steps_does_not_place_the_movie_a_frame_off() -> None:
    # The first call's first step acts as it is sent, its second 50 ms later, after a loaded machine stalled
    # the call between them (the call is noted at its middle, as every call); the sweep's loop then sends
    # the late commands at once. Its first step's move is a frame's half move, which the frames' first
    # change need not show: the movie was placed most of a frame early, two steps off.
    fps, n, latency, speed, stall, rng = 30.0, 100, 0.115, 284.0, 0.05, np.random.default_rng(1)
    sent = np.arange(70) / fps + 0.003
    sent[2:] = np.maximum(sent[2:], sent[1] + stall + 0.002 * np.arange(1, 69))
    commands = [Command(0.0, 20.0), *(Command(t, 20.0 + 2 * i, 0.002) for i, t in enumerate(sent[1:], 1))]
    commands[1] = Command(sent[1] + stall / 2, 22.0, stall)
    acted = [Command(0.0, 20.0), Command(sent[1], 21.0), Command(sent[1] + stall, 22.0), *commands[2:]]
    lens = told_path(acted, speed, np.arange(n) / fps - latency)
    timing = estimated(commands, lens, fps, rng)
    assert abs(timing.shift + latency) < 0.5 / fps, timing.shift
    assert np.mean(np.abs(timing.positions - lens) <= 1) >= 0.95, np.round(timing.positions - lens, 1).tolist()
