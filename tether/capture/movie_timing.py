"""Where the lens was in each movie frame: the latency and the motor's motion, estimated from the frames.

A real lens answers a focus command after an unknown latency and then travels for a while, and a
camera's first movie frame comes an unknown time after the start command. Neither is assumed. The
commands' times (our clock, seconds since recording was started) and the counted positions they
asked for give the path the lens was told to follow; a lens travelling at ``speed`` small steps a
second toward the latest target, ``shift`` seconds off our clock, shows each pre-scan subject tile
sharpest in the frame where that path crosses the tile's pre-scan peak. The (shift, speed) whose
path best explains where the tiles actually peak in the movie is the estimate (a grid search, then
a finer one around the best: two parameters, a few hundred tile peaks).

The tiles are read in the pre-scan's counted positions, which may sit a few steps off the sweep's
own count (a step size measured a little off), so they let the shift, the speed and that offset
trade against each other by a frame or two. Two things the tiles do not need pin the shift: the
frame where the movie starts changing (the lens's first move, which the first command caused;
frames at rest differ by noise only, measured on the rest after the last command), within which
the fit is redone with the offset free; and how much each frame changed against how far the path
says the lens travelled between frames (a lens stepping in time with the frames changes some frames
by two steps and some by none), which picks the speed and the shift to a few milliseconds.

Each frame gets the path's position averaged over its frame interval (a frame's time is known to a
fraction of a frame, and a lens that jumps in time with the frames would otherwise be placed a
whole step off whenever a frame sits on a command), and a confidence, 1 / (1 + error in small
steps), from the fit's standard error (the tiles' spread about it over the square root of their
number), growing with the distance outside the stretch of frames the tiles cover.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tether.capture.step_plan import TilePeak

#: The shifts tried (seconds): a frame's time on our clock minus the lens's latency.
SHIFTS = (-1.0, 1.0)
COARSE_SHIFT = 0.004
FINE_SHIFT = 0.0005
#: Tile peaks further than this (small steps) from the fit count as this far: one odd tile cannot pull it.
OUTLIER_CAP = 6.0
#: A tile's movie curve must rise this many times above its lowest value to locate a peak.
MIN_RISE = 1.3
#: A frame differing from the one before by this many times the noise shows the lens moving ...
MOVING_FACTOR = 3.0
#: ... when this many in a row do.
SUSTAINED = 3
#: The frames at the movie's end, after the last command's travel, that measure the noise.
REST_FRAMES = 4
#: The fit pinned to the first move may miss the tiles by this much more (small steps, on average) than
#: the free one; past it, the pin is wrong.
PIN_SLACK = 0.5
#: Fits this close (small steps, on average) to the best are equal; the fastest lens among them is taken.
SPEED_TOLERANCE = 0.05
#: The correlation of travel and change below which the frames' changes say nothing about the shift.
MIN_MOTION_MATCH = 0.5
#: Samples of the path averaged over one frame interval.
FRAME_SAMPLES = 8
#: Frames this far outside the tiles' stretch have their uncertainty doubled.
EXTRAPOLATION_FRAMES = 5.0


@dataclass(frozen=True)
class Command:
    """The counted position (small steps) the lens was told to reach at ``time`` (s since recording began)."""

    time: float
    position: float


@dataclass(frozen=True)
class Timing:
    """The estimate: frame k shows the told path at ``k / fps + shift``, the lens moving at ``speed``."""

    shift: float
    speed: float                 # small steps a second; inf when the lens keeps up with every command
    residual: float              # robust spread of the tile peaks about the fit, small steps
    tiles: int                   # tile peaks the fit used (0: nothing to fit; positions from the commands)
    positions: np.ndarray        # (frames,) float64, small steps from the near end stop
    confidence: np.ndarray       # (frames,) float64 in [0, 1]


def told_path(commands: Sequence[Command], speed: float, times: np.ndarray) -> np.ndarray:
    """Where a lens moving at ``speed`` toward the latest commanded position is at ``times`` (any shape).

    ``commands`` in time order; the first is where the lens stood when recording began.
    """
    speed = min(speed, 1e9)  # "at once", without inf * 0 at a command's own instant
    t = np.array([c.time for c in commands], np.float64)
    target = np.array([c.position for c in commands], np.float64)
    at = np.empty_like(target)       # where the lens is when each command arrives
    at[0] = target[0]
    for i in range(1, len(t)):
        travel = speed * (t[i] - t[i - 1])
        at[i] = at[i - 1] + np.clip(target[i - 1] - at[i - 1], -travel, travel)
    last = np.clip(np.searchsorted(t, times, side="right") - 1, 0, None)
    travel = speed * np.maximum(times - t[last], 0.0)
    return np.asarray(at[last] + np.clip(target[last] - at[last], -travel, travel), np.float64)


def frame_positions(commands: Sequence[Command], speed: float, shifts: np.ndarray, frames: int,
                    fps: float) -> np.ndarray:
    """(shifts, frames): the told path averaged over each frame's interval, frame k centred on
    ``k / fps + shift``. A tile's sub-frame peak is read against these (interpolated between frames),
    so a lens that jumps in time with the frames is not judged against a path it never takes."""
    across = ((np.arange(FRAME_SAMPLES) + 0.5) / FRAME_SAMPLES - 0.5) / fps
    times = shifts[:, None, None] + (np.arange(frames) / fps)[None, :, None] + across[None, None, :]
    return np.asarray(told_path(commands, speed, times).mean(axis=2), np.float64)


def tile_peak_frames(tiles: np.ndarray, peaks: Sequence[TilePeak]) -> tuple[np.ndarray, np.ndarray]:
    """(frame, pre-scan position) of every subject tile that peaks inside the movie.

    ``tiles`` (frames, rows, cols) per-tile sharpness; the frame is sub-frame, from a parabola through
    the logarithm of the curve's top three values (exact for a Gaussian peak).
    """
    frames, positions = [], []
    n = len(tiles)
    for peak in peaks:
        curve = tiles[:, peak.row, peak.col].astype(np.float64)
        k = int(np.argmax(curve))
        if not 0 < k < n - 1 or curve[k] < MIN_RISE * max(float(curve.min()), 1e-9):
            continue
        a, b, c = np.log(np.maximum(curve[k - 1:k + 2], 1e-9))
        bend = a - 2 * b + c
        offset = 0.5 * (a - c) / bend if bend < 0 else 0.0
        frames.append(k + float(np.clip(offset, -0.5, 0.5)))
        positions.append(peak.position)
    return np.array(frames, np.float64), np.array(positions, np.float64)


def first_move(thumbs: np.ndarray) -> int | None:
    """The first frame that changed from the one before by more than the noise (measured on the rest at
    the movie's end), and so do the next SUSTAINED - 1 (an encoder's odd frame changes once), from
    (frames, h, w) thumbnails. The change into
    frame 1 is not read: frame 0 is the encoder's key frame, compressed unlike the rest. None when the
    movie moves from its start or never rests at its end."""
    change = np.abs(np.diff(thumbs.astype(np.float64), axis=0)).mean(axis=(1, 2))
    if len(change) < 2 * REST_FRAMES:
        return None
    noise = MOVING_FACTOR * max(float(np.median(change[-REST_FRAMES:])), 1e-6)
    if (change[-REST_FRAMES:] > noise).any() or not (change > noise).any():
        return None
    moving = change > noise
    moving[0] = False
    runs = np.flatnonzero(np.convolve(moving, np.ones(SUSTAINED), mode="valid") == SUSTAINED)
    if not len(runs) or runs[0] <= 1:
        return None
    return int(runs[0]) + 1


def motion_match(commands: Sequence[Command], speed: float, thumbs: np.ndarray, fps: float,
                 shift: float) -> tuple[float, float]:
    """(correlation, shift): ``shift`` refined within a frame either way, to where the lens's travel between
    frames, as the path tells it, best matches how much each frame changed (a lens stepping in time
    with the frames makes some frames change by two steps and some by none, which pins the shift to a
    few milliseconds; a slow lens changes every frame alike, and its start and stop pin it)."""
    change = np.abs(np.diff(thumbs.astype(np.float64), axis=0)).mean(axis=(1, 2))
    shifts = np.arange(shift - 1.0 / fps, shift + 1.0 / fps + FINE_SHIFT, FINE_SHIFT)
    where = told_path(commands, speed, shifts[:, None] + (np.arange(len(thumbs)) / fps)[None, :])
    travel = np.abs(np.diff(where, axis=1))
    travel -= travel.mean(axis=1, keepdims=True)
    observed = change - change.mean()
    spread = np.sqrt((travel ** 2).sum(axis=1) * (observed ** 2).sum())
    match = np.where(spread > 0, (travel * observed).sum(axis=1) / np.maximum(spread, 1e-12), 0.0)
    best = int(np.argmax(match))
    return float(match[best]), float(shifts[best])


def estimate(commands: Sequence[Command], tiles: np.ndarray, peaks: Sequence[TilePeak], fps: float,
             thumbs: np.ndarray | None = None) -> Timing:
    """Each frame's focus position and confidence from (frames, rows, cols) tile sharpness and, when given,
    (frames, h, w) thumbnails; see the module docstring."""
    n = len(tiles)
    frame_times = np.arange(n) / fps
    seen, wanted = tile_peak_frames(tiles, peaks)
    if len(seen) < 3:  # nothing to learn from: the commands' own times, with no confidence
        return Timing(0.0, float("inf"), float("nan"), 0, told_path(commands, float("inf"), frame_times),
                      np.zeros(n))
    span = max(commands[-1].time - commands[0].time, 1.0 / fps)
    told_rate = abs(commands[-1].position - commands[0].position) / span
    speeds = [float("inf"), *np.geomspace(max(told_rate, 1.0) * 0.3, max(told_rate, 1.0) * 10, 24)]

    below = np.minimum(np.floor(seen).astype(int), n - 2)
    part = seen - below

    def at_peaks(shift: np.ndarray, speed: float) -> np.ndarray:
        """(shifts, tiles): where the frames around each tile's peak frame were, interpolated to it."""
        where = frame_positions(commands, speed, shift, n, fps)
        return np.asarray(where[:, below] * (1 - part) + where[:, below + 1] * part, np.float64)

    def cost(shift: np.ndarray, speed: float, offset: bool) -> np.ndarray:
        misses = at_peaks(shift, speed) - wanted[None, :]
        if offset:
            misses -= np.median(misses, axis=1, keepdims=True)
        return np.asarray(np.minimum(np.abs(misses), OUTLIER_CAP).mean(axis=1), np.float64)

    def search(low: float, high: float, step: float, offset: bool) -> tuple[float, float, float]:
        """(cost, shift, speed) of the best fit with the shift in [low, high], to ``step`` then FINE_SHIFT."""
        shifts = np.arange(low, high + FINE_SHIFT, step)
        fits = [(float(c.min()), float(shifts[int(c.argmin())]), v) for v in speeds for c in [cost(shifts, v, offset)]]
        least = min(fit[0] for fit in fits)
        # a slow lens's lag and a bias of the pre-scan's peaks look alike on the tiles: of the fits that
        # explain them equally, the fastest lens (the simplest account)
        found, shift, speed = max((fit for fit in fits if fit[0] <= least + SPEED_TOLERANCE), key=lambda fit: fit[2])
        if step > FINE_SHIFT:
            fine = np.arange(shift - step, shift + step, FINE_SHIFT)
            costs = cost(fine, speed, offset)
            found, shift = float(costs.min()), float(fine[int(costs.argmin())])
        return found, shift, speed

    found, shift, speed = search(*SHIFTS, COARSE_SHIFT, offset=False)
    moved = None if thumbs is None or len(commands) < 2 else first_move(thumbs)
    if moved is not None:  # the first command's effect shows between frames moved - 1 and moved
        pinned = search(commands[1].time - moved / fps, commands[1].time - (moved - 1) / fps, FINE_SHIFT,
                        offset=True)
        if pinned[0] <= found + PIN_SLACK:  # else the change was no move of the lens (a flicker, a bump)
            found, shift, speed = pinned

    pinned_fit = moved is not None and (found, shift, speed) == pinned
    if thumbs is not None:  # the speed and shift whose travel best matches the frames' changes, if any does
        score, matched, fastest = max((*motion_match(commands, v, thumbs, fps, shift), v) for v in speeds)
        if score >= MIN_MOTION_MATCH:
            shift, speed = matched, fastest
    misses = at_peaks(np.array([shift]), speed)[0] - wanted
    misses -= np.median(misses) if pinned_fit else 0.0
    inliers = np.abs(misses) < OUTLIER_CAP
    residual = 1.4826 * float(np.median(np.abs(misses[inliers]))) if inliers.any() else OUTLIER_CAP
    outside = np.maximum(seen.min() - np.arange(n), 0) + np.maximum(np.arange(n) - seen.max(), 0)
    uncertainty = max(residual, 0.1) / np.sqrt(max(int(inliers.sum()), 1)) * (1 + outside / EXTRAPOLATION_FRAMES)
    positions = frame_positions(commands, speed, np.array([shift]), n, fps)[0]
    return Timing(shift, speed, residual, int(inliers.sum()), positions, 1.0 / (1.0 + uncertainty))
