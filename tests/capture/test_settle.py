"""A stills sweep waits for the rig to settle after each move before it takes the picture."""
from __future__ import annotations

from typing import Any

from tether.camera.sim import SimCamera
from tether.capture import SweepOptions, run_sweep
from tether.capture.modes import stills


class Recording(SimCamera):
    """The simulated camera, noting each focus move and each still in order."""

    calls: list[Any]

    def drive_focus(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append("move")
        super().drive_focus(*args, **kwargs)

    def capture_still(self) -> Any:
        self.calls.append("still")
        return super().capture_still()


def test_each_still_waits_the_settle_delay_after_the_move(truth_camera, tmp_path, monkeypatch):
    camera = truth_camera(camera_class=Recording)
    camera.calls = []
    monkeypatch.setattr(stills, "sleep", lambda seconds: camera.calls.append(("settle", seconds)))
    options = SweepOptions.from_dict({"mode": "stills", "range": [40, 60], "step": "small", "step_count": 10,
                                      "settle_seconds": 0.4})
    result = run_sweep(camera, options, tmp_path / "settled.burst")
    assert result["frames"] == 3
    stills_at = [i for i, call in enumerate(camera.calls) if call == "still"]
    assert all(camera.calls[i - 1] == ("settle", 0.4) for i in stills_at)
    # and none without the option
    camera.calls = []
    run_sweep(camera, SweepOptions.from_dict({"mode": "stills", "range": [40, 60], "step": "small", "step_count": 10}),
              tmp_path / "unsettled.burst")
    assert "still" in camera.calls and not [c for c in camera.calls if isinstance(c, tuple)]
