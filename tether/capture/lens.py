"""Where the focus is between jobs: the counted position, kept up to date through the photographer's nudges.

A pre-scan or a sweep leaves the lens at a position counted in small steps from the near end stop
(:mod:`tether.capture.motion`); the focus nudges that follow (the panel's arrows) move it by steps of a
known size. Counting them, with the drive's play taken up at every reversal as the pre-scan measured it,
keeps the position known, so "this is near" / "this is far" can name a position without a readback and
without scanning again. A nudge whose step size was never measured, or anything else that may move the
focus (autofocus), makes the position unknown until the next pre-scan or sweep counts it again.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from tether.camera.types import FocusDirection, StepClass
from tether.capture.step_plan import StepScale


@dataclass(frozen=True)
class LensPosition:
    """The focus position (small steps from the near end stop), the last direction driven, the travel."""

    position: float
    scale: StepScale
    #: Where the motor stands ahead of the focus, in small steps: from 0 (it last pushed toward near) to the
    #: drive's play (``scale.backlash``: it last pushed toward infinity). A move first takes up what is left of
    #: the play in its direction; only the rest moves the focus.
    lead: float | None = None
    #: The lens's travel: the counted far end of the last pre-scan (the far stop, or as far as it had to go
    #: to pass every subject), or the far stop a sweep ran into; the scale for fractions, None if unknown.
    travel: float | None = None

    def moved(self, direction: FocusDirection, step: StepClass, count: int) -> LensPosition | None:
        """The position after ``count`` steps of ``step`` toward ``direction``; None when a step's size is unknown."""
        size = self.scale.size(step)
        if math.isnan(size):
            return None
        play = self.scale.backlash
        lead = play if self.lead is None else self.lead   # a pre-scan or sweep ends moving toward infinity
        motor = self.position + lead + (size * count if direction is FocusDirection.FAR else -size * count)
        # the play operator: the focus follows only once the motor has crossed the play
        position = min(max(self.position, motor - play), motor)
        position = max(0.0, position)   # the near stop clamps, as on the lens
        return replace(self, position=position, lead=min(max(motor, position), position + play) - position)

    def fraction(self, position: float | None = None) -> float | None:
        """``position`` (default: the current one) as a fraction of the travel, 0 (near stop) to 1; None if unknown."""
        if self.travel is None or self.travel <= 0:
            return None
        where = self.position if position is None else position
        return min(1.0, max(0.0, where / self.travel))

    def to_dict(self) -> dict[str, Any]:
        fraction = self.fraction()
        return {"position": round(self.position), "travel": None if self.travel is None else round(self.travel),
                "fraction": None if fraction is None else round(fraction, 4),
                "unit": "small focus steps from the near end stop"}


def after_sweep(result: Mapping[str, Any], scale: StepScale) -> LensPosition | None:
    """Where a finished sweep (its job result) left the focus: at its last frame, or at the far stop it ran
    into; None for a sweep that did not finish, or a movie's (its positions are estimated from the frames)."""
    positions = result.get("positions") or []
    if result.get("status") != "complete" or result.get("mode") == "movie" or not positions:
        return None
    prescan = result.get("prescan")
    travel = None
    if prescan:  # the sweep's own pre-scan measured the steps (and maybe the travel) again
        scale = StepScale.from_dict(prescan["scale"])
        travel = prescan.get("far_stop")
    far_stop = result.get("far_stop")
    if far_stop is not None:
        return LensPosition(float(far_stop), scale, travel=float(far_stop))
    return LensPosition(float(positions[-1]), scale, travel=travel)
