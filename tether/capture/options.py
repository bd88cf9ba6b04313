"""What a pre-scan and a sweep accept, checked in one place for every front end.

The REST API, the CLI and the camera owner all build options with :meth:`PrescanOptions.from_dict`
and :meth:`SweepOptions.from_dict` (keys as in the REST API), so a bad option gets the same
one-line :class:`~tether.errors.InvalidInput` everywhere, naming the option and what it may be; the web answers it
with 400.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tether.camera.types import StepClass
from tether.capture import modes
from tether.capture.step_plan import StepScale
from tether.checks import Rule, checked, flag, number, one_of, whole
from tether.errors import InvalidInput

#: Positions are small focus steps from the near end stop; no lens has more.
MAX_POSITION = 100_000
MAX_FRAMES = 2000


@dataclass(frozen=True)
class PrescanOptions:
    """What the pre-scan should do; ``range`` (near, far) in small steps skips the scan."""

    range: tuple[int, int] | None = None
    from_here: bool = False
    max_frames: int = 400
    settle_frames: int = 0
    min_contrast: float = 1.6
    grid: tuple[int, int] = (9, 16)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PrescanOptions:
        """Options from a JSON body or the CLI; unknown keys and bad values are refused."""
        return cls(**checked(data, PRESCAN_RULES, "pre-scan"))


@dataclass(frozen=True)
class SweepOptions:
    """How to sweep. Without ``range`` a pre-scan runs first and its measurements drive the step plan."""

    mode: str = modes.MODES.default
    range: tuple[int, int] | None = None
    frames: int | None = None          # target frame count
    max_frames: int | None = 300
    step: StepClass | None = None      # explicit step class per frame ...
    step_count: int | None = None      # ... and how many of them
    dof: float | None = None           # frame spacing from an earlier pre-scan (with ``range``)
    scale: StepScale | None = None     # step sizes measured by an earlier pre-scan (with ``range``)
    settle_frames: int = 0
    settle_seconds: float = 0.0        # a still waits this long after each move (the rig's vibration dies down)
    extend_frames: int | None = None   # extra frames allowed past the plan while subjects still sharpen
    prescan: PrescanOptions = field(default_factory=PrescanOptions)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> SweepOptions:
        """Options from a JSON body or the CLI; unknown keys and bad values are refused."""
        given = checked(data, SWEEP_RULES, "sweep")
        prescan = PrescanOptions(from_here=given.pop("from_here", False), settle_frames=given.get("settle_frames", 0))
        return cls(**given, prescan=prescan)


def step_class(name: str, value: Any) -> StepClass:
    return StepClass(one_of(*(step.value for step in StepClass))(name, value))


def focus_range(name: str, value: Any) -> tuple[int, int]:
    """(near, far) from "NEAR:FAR" or a pair of whole numbers, 0 <= NEAR <= FAR <= MAX_POSITION."""
    pair: Any = value
    if isinstance(value, str):
        pair = [int(text) if text.strip().isdigit() else None for text in value.split(":")]
    if (not isinstance(pair, (list, tuple)) or len(pair) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
            or not 0 <= pair[0] <= pair[1] <= MAX_POSITION):
        raise InvalidInput(f"{name} must be NEAR:FAR in small focus steps with 0 <= NEAR <= FAR <= {MAX_POSITION}, "
                        f"not {value!r}")
    return pair[0], pair[1]


PRESCAN_RULES: dict[str, Rule] = {
    "range": focus_range,
    "from_here": flag,
    "max_frames": whole(2, MAX_FRAMES),
    "settle_frames": whole(0, 30),
    "min_contrast": number(1.0, 100.0),
}
SWEEP_RULES: dict[str, Rule] = {
    "mode": modes.MODES.check,
    "range": focus_range,
    "frames": whole(2, MAX_FRAMES),
    "max_frames": whole(2, MAX_FRAMES),
    "step": step_class,
    "step_count": whole(1, 1000),
    "dof": number(0.01, MAX_POSITION),
    "settle_frames": whole(0, 30),
    "settle_seconds": number(0.0, 10.0),
    "from_here": flag,
}
