"""The simulated focus motor: integer positions, step classes, step error, backlash, end stops, latency.

Two positions are tracked: the motor's own count and the focus group it drives through a geared
link with play (backlash). Moving toward far, the group trails the motor by the play; reversing,
the motor first takes up the play and the group does not move. Only the group's position
matters optically; it is the ground truth (``position``). End stops clamp silently, as real lenses
do: a drive past them just stops there.

While the camera records a movie (``smooth``), the lens moves as a real one does in video mode:
a command is acknowledged at once, the group starts moving ``latency`` seconds later and travels
at ``speed`` units a second toward the latest target, so a movie frame can show it between steps.
"""
from __future__ import annotations

import bisect
import time
from dataclasses import dataclass

import numpy as np

from tether.camera.types import FocusDirection, StepClass

#: Units (small steps) each step class moves.
STEP_UNITS: dict[StepClass, int] = {StepClass.SMALL: 1, StepClass.MEDIUM: 4, StepClass.LARGE: 16}


@dataclass(frozen=True)
class MotorSpec:
    range: int = 240                 # far end stop; the near end stop is 0
    backlash: int = 3                # units of play taken up after a reversal
    step_error: float = 0.05         # chance that a step lands one unit short or long
    step_seconds: float = 0.002      # time per step command
    unit_seconds: float = 0.0002     # time per unit travelled
    latency: float = 0.0             # seconds from a command to the group moving, while recording
    speed: float = 0.0               # units a second the group travels while recording (0: at once)


class FocusMotor:
    """Seeded focus motor; ``position`` is the true focus-group position in units from the near stop."""

    def __init__(self, spec: MotorSpec, seed: int = 0, start: int | None = None,
                 clock=time.monotonic, sleep=time.sleep) -> None:
        self.spec = spec
        self._rng = np.random.default_rng(seed)
        self._clock, self._sleep = clock, sleep
        start = spec.range // 2 if start is None else start
        self._target = int(min(max(start, 0), spec.range))  # where the focus group is going
        # The motor's own count; the group trails it by the play, as after a move toward far.
        self._motor = self._target + spec.backlash
        self._last: FocusDirection = FocusDirection.FAR
        #: Recording a movie: commands take effect after the latency and the group travels at the speed.
        self.smooth = False
        #: (time, position then, target from then) at every change, so a movie can look up where focus
        #: was at any frame time.
        self._history: list[tuple[float, float, int]] = [(self._clock(), self._target, self._target)]

    @property
    def position(self) -> int:
        """Where the focus group is now (the optics' truth)."""
        return self.position_at(self._clock())

    def drive(self, direction: FocusDirection, step: StepClass, count: int = 1) -> int:
        """Make ``count`` steps; returns the new target position. Blocks for the motor's step time (and,
        when not recording, for the travel)."""
        direction, step = FocusDirection(direction), StepClass(step)
        sign = 1 if direction is FocusDirection.FAR else -1
        # Each step is timed by the motor's own step time from the call, not by when the sleep returned: a
        # loaded machine wakes this thread late (one step in eight by over 1 ms, up to 11 ms, measured),
        # and a lens does not wait for our host.
        at = self._clock()
        for _ in range(max(0, int(count))):
            units = STEP_UNITS[step] + self._error()
            before = self._target
            self._move(sign * units)
            self._last = direction
            delay = self.spec.step_seconds + (0.0 if self.smooth else self.spec.unit_seconds * units)
            at += delay
            if delay > 0:
                self._sleep(delay)
            if self._target != before:
                self._changed(at)
        return self._target

    def _changed(self, at: float) -> None:
        """Note the new target, reached at ``at``: in force then, or once the latency has passed while recording."""
        when = at + (self.spec.latency if self.smooth else 0.0)
        start = self.position_at(when) if self.smooth else float(self._target)
        self._history.append((when, start, self._target))
        if len(self._history) > 100_000:  # bounded: a movie needs only its own stretch
            self._history = self._history[-50_000:]

    def _error(self) -> int:
        if self.spec.step_error <= 0:
            return 0
        r = self._rng.random()
        return -1 if r < self.spec.step_error / 2 else 1 if r < self.spec.step_error else 0

    def _move(self, delta: int) -> None:
        spec = self.spec
        self._motor += delta
        # The play operator: the group stays put until the motor has taken up the slack, then follows.
        group = min(max(self._target, self._motor - spec.backlash), self._motor)
        group = min(max(group, 0), spec.range)
        self._target = group
        self._motor = min(max(self._motor, group), group + spec.backlash)

    def position_at(self, when: float) -> int:
        """The true position at clock time ``when``: the last change before it, and the travel since."""
        i = bisect.bisect_right(self._history, when, key=lambda change: change[0]) - 1
        since, start, target = self._history[max(i, 0)]
        speed = self.spec.speed
        if i < 0 or speed <= 0 or start == target:
            return round(start if i < 0 else target)
        travel = speed * (when - since)
        return round(min(start + travel, target) if target > start else max(start - travel, target))

    def trim_history(self, before: float) -> None:
        """Forget changes older than ``before`` (keeping the travel in force then)."""
        i = bisect.bisect_right(self._history, before, key=lambda change: change[0]) - 1
        if i > 0:
            self._history = self._history[i:]
