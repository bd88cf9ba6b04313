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
trade against each other by a frame or two (measured: four steps off through libgphoto2, which
drew the fit a frame late). What pins the shift is the frames themselves: the frame where the movie
starts changing (the lens's first move, which the first command caused), checked against where the
changes over the whole movie put the move (its start and its end, so one command's time cannot
mislead it), gives a window of a frame within which the fit is redone with the offset free; then
how much each frame changed against how far the path says the lens travelled between frames (a
lens stepping in time with the frames changes some frames by two steps and some by none) picks the
speed and the shift within that window. Only within it: where every frame changes alike, the
match is as good a frame earlier or later (only the move's start and end tell them apart, by a few
hundredths), and on a loaded machine its best lay most of a frame off, the whole movie placed a
frame late, in 5 of 60 recorded movies. Of the speeds that match about equally, the fastest is
taken, as for the tiles: a lens barely faster than the commands changes every frame alike too, and
lagged the path by about a step, a loaded machine's stalls then two.

Only the commands' order and steps are certain; their times are as good as the calls were short. A
loaded machine stalls a call now and then for several frames, and the camera acted somewhere within
it: such a call is placed within its span where the frames' changes say the lens moved. The first one
too: when it stalls between its steps (20 ms) across a frame's time, that frame's half move can go
unseen, and the first move the frames show is then the call's end, not its start. The call's middle
put the first move's window half a stall off, and the movie a frame off with it (2 of 84 recorded
movies); the window is now the call's start's or its end's, whichever the changes over the whole
movie agree with. Measured on the simulated camera with the first call stalled 45-100 ms between its
two steps, the same movies estimated both ways: 14 of 22 had fewer than 95 % of their frames within a
step of the truth with the middle, 5 with the start or end (10 of them not looked at before the
choice: 7 and 4); unstalled movies unchanged.

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
#: Frames moving change this many times more than frames at rest (typically, in the median) ...
MOVE_CONTRAST = 2.0
#: ... and each stretch, at rest and moving, spans at least this many changes between frames.
MIN_STRETCH = 2
#: The fit pinned to the first move may miss the tiles by this much more (small steps, on average) than
#: the free one; past it, the pin is wrong.
PIN_SLACK = 0.5
#: Fits this close (small steps, on average) to the best are equal; the fastest lens among them is taken.
SPEED_TOLERANCE = 0.05
#: The correlation of travel and change below which the frames' changes say nothing about the shift.
MIN_MOTION_MATCH = 0.5
#: Correlations of travel and change this close to the best are equal; the fastest lens among them is taken.
MOTION_TOLERANCE = 0.05
#: Samples of the path averaged over one frame interval.
FRAME_SAMPLES = 8
#: Frames this far outside the tiles' stretch have their uncertainty doubled.
EXTRAPOLATION_FRAMES = 5.0
#: A call longer than this (in frames) leaves doubt when the camera acted: the frames place it within the call.
DOUBTFUL_CALL = 0.25
#: Times tried within a doubtful call.
CALL_SAMPLES = 17


@dataclass(frozen=True)
class Command:
    """The counted position (small steps) the lens was told to reach at ``time`` (s since recording began),
    the middle of a call that took ``took`` seconds: the camera acted somewhere within it."""

    time: float
    position: float
    took: float = 0.0


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
    """The first frame that shows the lens moved, from (frames, h, w) thumbnails, or None when the movie
    shows no clear start of a move.

    The split of the frames' changes into a stretch at rest and one moving that fits them best (least
    squares on their logarithm: a frame at rest changes by the noise, one moving by a step's worth, a
    few times more). No noise level is assumed: an encoder settles for a second or so after its start,
    so frames at rest change more at the movie's start than at its end. The change into frame 1 is
    not read: frame 0 is the encoder's key frame, compressed unlike the rest.
    """
    change = np.abs(np.diff(thumbs.astype(np.float64), axis=0)).mean(axis=(1, 2))
    rest_and_move = np.log(np.maximum(change[1:(len(change) + 1) // 2], 1e-6))
    if len(rest_and_move) < 2 * MIN_STRETCH:
        return None
    splits = range(MIN_STRETCH, len(rest_and_move) - MIN_STRETCH + 1)
    costs = [rest_and_move[:k].var() * k + rest_and_move[k:].var() * (len(rest_and_move) - k) for k in splits]
    k = splits[int(np.argmin(costs))]
    if np.median(rest_and_move[k:]) - np.median(rest_and_move[:k]) < np.log(MOVE_CONTRAST):
        return None  # no step up: the lens moved from the start, or not at all
    return k + 2  # rest_and_move[k] is the change into frame k + 2


def motion_match(commands: Sequence[Command], speed: float, thumbs: np.ndarray, fps: float,
                 shifts: np.ndarray) -> tuple[float, float]:
    """(correlation, shift): of ``shifts``, the one where the lens's travel between frames, as the path tells
    it, best matches how much each frame changed (a lens stepping in time with the frames makes some
    frames change by two steps and some by none, which pins the shift to a few milliseconds; a slow
    lens changes every frame alike, and its start and stop pin it)."""
    change = np.abs(np.diff(thumbs.astype(np.float64), axis=0)).mean(axis=(1, 2))
    where = told_path(commands, speed, shifts[:, None] + (np.arange(len(thumbs)) / fps)[None, :])
    travel = np.abs(np.diff(where, axis=1))
    travel -= travel.mean(axis=1, keepdims=True)
    observed = change - change.mean()
    spread = np.sqrt((travel ** 2).sum(axis=1) * (observed ** 2).sum())
    match = np.where(spread > 0, (travel * observed).sum(axis=1) / np.maximum(spread, 1e-12), 0.0)
    best = int(np.argmax(match))
    return float(match[best]), float(shifts[best])


def placed(commands: Sequence[Command], speed: float, shift: float, thumbs: np.ndarray,
           fps: float) -> list[Command]:
    """``commands`` with each call long enough to leave doubt (a loaded machine stalls one now and then, for
    several frames) timed within it where the lens's travel between frames, as the path tells it, best
    explains how much each frame changed (least squares, the change a straight function of the travel
    up to a step).
    A stall before the camera acted keeps the lens still for frames that the call's middle would have
    it cross; a stall after it, the other way round."""
    change = np.abs(np.diff(thumbs.astype(np.float64), axis=0)).mean(axis=(1, 2))
    times = np.arange(len(thumbs)) / fps + shift
    # a frame's change grows with the travel up to about one command's step, then hardly (the catch-up
    # after a stall changes a frame by far less than its many steps say)
    step = float(np.median(np.abs(np.diff([c.position for c in commands]))))

    def misfit(timed: list[Command]) -> float:
        travel = np.minimum(np.abs(np.diff(told_path(timed, speed, times))), step)
        design = np.stack([travel, np.ones_like(travel)], axis=1)
        return float(np.linalg.lstsq(design, change, rcond=None)[1].sum())

    timed = list(commands)
    for i, command in enumerate(timed):
        if i == 0 or command.took <= DOUBTFUL_CALL / fps:
            continue
        low = max(command.time - command.took / 2, timed[i - 1].time)
        # the last command has only its own call to bound it
        high = min([command.time + command.took / 2, *[c.time for c in timed[i + 1:i + 2]]])
        tried = [[*timed[:i], Command(t, command.position, command.took), *timed[i + 1:]]
                 for t in np.linspace(low, high, CALL_SAMPLES)]
        timed = min(tried, key=misfit)
    return timed


def move_window(commands: Sequence[Command], thumbs: np.ndarray, fps: float,
                speeds: Sequence[float]) -> tuple[float, float] | None:
    """The shifts (low, high) that put the lens's first move where the frames show it, or None.

    The frame where the movie starts changing puts the first command's effect within one frame; the
    frames' changes against the path's travel over the whole movie put the move within a frame or so
    by its start and its end, not by one command's time (a loaded machine can stall that one). When the
    two disagree, the change at the start was no first move (a stall, the encoder settling): the
    window is the latter's, a frame either way."""
    coarse = np.arange(*SHIFTS, COARSE_SHIFT)
    score, near = max(motion_match(commands, v, thumbs, fps, coarse) for v in speeds)
    moved = first_move(thumbs)
    if moved is not None:  # the first command's effect shows between frames moved - 1 and moved
        # the camera acted at the call's start or its end (a stall between its steps: the first step's move
        # can go unseen); of the two, the one the changes over the whole movie agree with
        first = commands[1]
        low, high = min(((t - moved / fps, t - (moved - 1) / fps)
                         for t in (first.time - first.took / 2, first.time + first.took / 2)),
                        key=lambda window: abs((window[0] + window[1]) / 2 - near))
        if score < MIN_MOTION_MATCH or low - 1.0 / fps <= near <= high + 1.0 / fps:
            return low, high
    return (near - 1.0 / fps, near + 1.0 / fps) if score >= MIN_MOTION_MATCH else None


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
    window = None if thumbs is None or len(commands) < 2 else move_window(commands, thumbs, fps, speeds)
    pinned_fit = False
    if window is not None:
        pinned = search(*window, FINE_SHIFT, offset=True)
        if pinned[0] <= found + PIN_SLACK:  # else the change was no move of the lens (a flicker, a bump)
            (found, shift, speed), pinned_fit = pinned, True
    if thumbs is not None:  # the speed and shift whose travel best matches the frames' changes, if any does
        low, high = window if pinned_fit and window is not None else (shift - 1.0 / fps, shift + 1.0 / fps)
        near = np.arange(low, high + FINE_SHIFT, FINE_SHIFT)
        fits = [(*motion_match(commands, v, thumbs, fps, near), v) for v in speeds]
        best = max(fit[0] for fit in fits)
        if best >= MIN_MOTION_MATCH:
            _, shift, speed = max((fit for fit in fits if fit[0] >= best - MOTION_TOLERANCE), key=lambda fit: fit[2])
    if thumbs is not None:
        commands = placed(commands, speed, shift, thumbs, fps)
    misses = at_peaks(np.array([shift]), speed)[0] - wanted
    misses -= np.median(misses) if pinned_fit else 0.0
    inliers = np.abs(misses) < OUTLIER_CAP
    residual = 1.4826 * float(np.median(np.abs(misses[inliers]))) if inliers.any() else OUTLIER_CAP
    outside = np.maximum(seen.min() - np.arange(n), 0) + np.maximum(np.arange(n) - seen.max(), 0)
    uncertainty = max(residual, 0.1) / np.sqrt(max(int(inliers.sum()), 1)) * (1 + outside / EXTRAPOLATION_FRAMES)
    positions = frame_positions(commands, speed, np.array([shift]), n, fps)[0]
    return Timing(shift, speed, residual, int(inliers.sum()), positions, 1.0 / (1.0 + uncertainty))
