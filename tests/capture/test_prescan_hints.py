"""A camera that cannot pre-scan is told where else a sweep's range can come from, and only when it can."""
from __future__ import annotations

from dataclasses import replace

import pytest

from tether.camera.errors import Unsupported
from tether.camera.sim import SimCamera
from tether.camera.types import CameraInfo
from tether.capture import PrescanOptions, SweepOptions, run_prescan, run_sweep


def lacking(*capabilities: str) -> type[SimCamera]:
    """The simulated camera without ``capabilities`` (as some cameras over USB: no live view, no focus drive)."""
    def info(camera: SimCamera) -> CameraInfo:
        full = SimCamera.info.fget(camera)
        return replace(full, capabilities=replace(full.capabilities, **dict.fromkeys(capabilities, False)))

    return type("Lacking", (SimCamera,), {"info": property(info)})


def test_without_live_view_the_hint_names_where_a_range_is_given_and_that_works(truth_camera, tmp_path) -> None:
    camera = truth_camera("sim:macro", camera_class=lacking("live_view", "movie"))
    with pytest.raises(Unsupported, match="cannot pre-scan") as caught:
        run_prescan(camera, PrescanOptions())
    assert caught.value.hint == ("give the sweep's range by hand: tether sweep --range NEAR:FAR, "
                                 "or Near and Far on the Post Focus page")  # `tether prescan` has no --range
    result = run_sweep(camera, SweepOptions(mode="stills", range=(30, 130), frames=3), tmp_path / "s.burst")
    assert result["frames"] == 3


def test_without_a_focus_drive_no_range_is_offered(truth_camera) -> None:
    camera = truth_camera("sim:macro", camera_class=lacking("focus_drive"))
    with pytest.raises(Unsupported, match="cannot pre-scan") as caught:
        run_prescan(camera, PrescanOptions())
    assert "range" not in caught.value.hint and "use another camera" in caught.value.hint
