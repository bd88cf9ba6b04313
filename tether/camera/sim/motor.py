"""The simulated focus motor: integer positions, step classes, step error, backlash, end stops, latency.

Two positions are tracked: the motor's own count and the focus group it drives through a geared
link with play (backlash). Moving toward far, the group trails the motor by the play; reversing,
the motor first takes up the play and the group does not move. Only the group's position
matters optically; it is the ground truth (``position``). End stops clamp silently, as real lenses
do: a drive past them just stops there.
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


class FocusMotor:
    """Seeded focus motor; ``position`` is the true focus-group position in units from the near stop."""

    def __init__(self, spec: MotorSpec, seed: int = 0, start: int | None = None,
                 clock=time.monotonic, sleep=time.sleep) -> None:
        self.spec = spec
        self._rng = np.random.default_rng(seed)
        self._clock, self._sleep = clock, sleep
        start = spec.range // 2 if start is None else start
        self.position = int(min(max(start, 0), spec.range))  # the focus group (what the optics see)
        # The motor's own count; the group trails it by the play, as after a move toward far.
        self._motor = self.position + spec.backlash
        self._last: FocusDirection = FocusDirection.FAR
        #: (time, position) after every change, so a movie can look up where focus was at any frame time.
        self._history: list[tuple[float, int]] = [(self._clock(), self.position)]

    def drive(self, direction: FocusDirection, step: StepClass, count: int = 1) -> int:
        """Make ``count`` steps; returns the new true position. Blocks for the motor's latency."""
        direction, step = FocusDirection(direction), StepClass(step)
        sign = 1 if direction is FocusDirection.FAR else -1
        for _ in range(max(0, int(count))):
            units = STEP_UNITS[step] + self._error()
            before = self.position
            self._move(sign * units)
            self._last = direction
            delay = self.spec.step_seconds + self.spec.unit_seconds * units
            if delay > 0:
                self._sleep(delay)
            if self.position != before:
                self._history.append((self._clock(), self.position))
                if len(self._history) > 100_000:  # bounded: a movie needs only its own stretch
                    self._history = self._history[-50_000:]
        return self.position

    def _error(self) -> int:
        if self.spec.step_error <= 0:
            return 0
        r = self._rng.random()
        return -1 if r < self.spec.step_error / 2 else 1 if r < self.spec.step_error else 0

    def _move(self, delta: int) -> None:
        spec = self.spec
        self._motor += delta
        # The play operator: the group stays put until the motor has taken up the slack, then follows.
        group = min(max(self.position, self._motor - spec.backlash), self._motor)
        group = min(max(group, 0), spec.range)
        self.position = group
        self._motor = min(max(self._motor, group), group + spec.backlash)

    def position_at(self, when: float) -> int:
        """The true position at clock time ``when`` (the last change at or before it)."""
        i = bisect.bisect_right(self._history, when, key=lambda change: change[0]) - 1
        return self._history[max(i, 0)][1]

    def trim_history(self, before: float) -> None:
        """Forget changes older than ``before`` (keeping the position in force then)."""
        keep = [h for h in self._history if h[0] >= before]
        self._history = [(before, self.position_at(before)), *keep]
