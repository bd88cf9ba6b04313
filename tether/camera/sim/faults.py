"""Fault injection for the simulated camera, from the id's query and/or the [sim] ``faults`` setting.

``sim:macro?disconnect_after=40&busy_rate=0.05&seed=3&slow_ms=200&corrupt_every=10``:

- ``disconnect_after=N``: the N+1th camera operation (frame, still, focus drive, setting write,
  movie start/stop) raises CameraDisconnected, and so does every one after it until the camera is
  closed and opened again (a replug). A fresh SimCamera with the same id works again.
- ``busy_rate=R``: each operation raises CameraBusy with probability R (seeded).
- ``slow_ms=T`` (with ``slow_every=K``, default 1): every Kth live-view frame arrives T ms late.
- ``corrupt_every=K``: every Kth live-view frame and still carries JPEG bytes that do not decode.
- ``seed=S``: seed of the scene textures, noise, motor error and faults (overrides [sim] seed).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from urllib.parse import parse_qsl

import numpy as np

from tether.camera.errors import CameraBusy, CameraDisconnected, CameraNotFound


@dataclass(frozen=True)
class FaultPlan:
    disconnect_after: int = 0     # 0 = never
    busy_rate: float = 0.0
    slow_ms: float = 0.0
    slow_every: int = 1
    corrupt_every: int = 0        # 0 = never
    seed: int | None = None


_LIMITS = {
    "disconnect_after": (int, 1, None), "busy_rate": (float, 0.0, 1.0), "slow_ms": (float, 0.0, 60000.0),
    "slow_every": (int, 1, None), "corrupt_every": (int, 1, None), "seed": (int, 0, None),
}
OPTIONS: tuple[str, ...] = tuple(f.name for f in fields(FaultPlan))


def parse_faults(options: dict[str, str], where: str) -> FaultPlan:
    """A FaultPlan from ``{"busy_rate": "0.05", ...}``; raises CameraNotFound naming the bad option."""
    values: dict[str, object] = {}
    for key, text in options.items():
        if key not in _LIMITS:
            raise CameraNotFound(f"{where}: unknown simulated-camera option {key!r}",
                                 hint="allowed options: " + ", ".join(OPTIONS))
        kind, lo, hi = _LIMITS[key]
        try:
            value = kind(text)
        except ValueError:
            expected = "whole number" if kind is int else "number"
            raise CameraNotFound(f"{where}: option {key}={text!r} must be a {expected}") from None
        if value < lo or (hi is not None and value > hi):
            bounds = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            raise CameraNotFound(f"{where}: option {key}={text!r} must be {bounds}")
        values[key] = value
    return FaultPlan(**values)  # type: ignore[arg-type]


def parse_fault_text(text: str, where: str) -> FaultPlan:
    """The [sim] ``faults`` setting, written like an id's query: ``busy_rate=0.05&slow_ms=100``."""
    text = text.strip().lstrip("?")
    if not text:
        return FaultPlan()
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise CameraNotFound(f"{where}: faults {text!r} is malformed", hint="write key=value&key=value") from None
    return parse_faults(dict(pairs), where)


def merge(base: FaultPlan, override: FaultPlan, override_options: dict[str, str]) -> FaultPlan:
    """``base`` with the options named in ``override_options`` taken from ``override``."""
    changed = {k: getattr(override, k) for k in override_options if k in OPTIONS}
    return FaultPlan(**{**{f: getattr(base, f) for f in OPTIONS}, **changed})


class FaultInjector:
    """Counts operations and decides, deterministically, which ones fail."""

    def __init__(self, plan: FaultPlan, seed: int, camera: str) -> None:
        self.plan = plan
        self.camera = camera
        self._rng = np.random.default_rng([seed, 0xFA17])
        self.operations = 0
        self.frames = 0
        self.disconnected = False

    def reconnect(self) -> None:
        """A replug: operations count from zero again."""
        self.operations = 0
        self.disconnected = False

    def operation(self, what: str) -> None:
        """Account for one operation; raises CameraDisconnected or CameraBusy when the plan says so."""
        plan = self.plan
        if self.disconnected:
            raise CameraDisconnected(f"{self.camera} is disconnected", hint="reconnect the camera (close and open it)")
        self.operations += 1
        if plan.disconnect_after and self.operations > plan.disconnect_after:
            self.disconnected = True
            raise CameraDisconnected(f"{self.camera} disconnected during {what} (simulated fault after "
                                     f"{plan.disconnect_after} operations)",
                                     hint="reconnect the camera (close and open it)")
        if plan.busy_rate and self._rng.random() < plan.busy_rate:
            raise CameraBusy(f"{self.camera} is busy and refused {what} (simulated fault)", hint="try again")

    def frame_delay(self) -> float:
        """Seconds the next live-view frame is late (0 unless slow frames are planned)."""
        self.frames += 1
        if self.plan.slow_ms and self.frames % self.plan.slow_every == 0:
            return self.plan.slow_ms / 1000.0
        return 0.0

    def maybe_corrupt(self, data: bytes, index: int) -> bytes:
        """``data`` damaged so it no longer decodes, on every ``corrupt_every``-th image."""
        every = self.plan.corrupt_every
        if not every or index % every != 0:
            return data
        # Keep the start-of-image marker (it still looks like a JPEG) but lose the headers: nothing decodes it.
        noise = self._rng.integers(0, 255, size=256, dtype=np.uint8).tobytes()
        return data[:2] + noise + data[len(data) // 2:]
