"""The sweep modes are listed once, and sweep options are checked once, whoever asks."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import click
import pytest

from tether.camera.errors import Unsupported
from tether.camera.sim import SimCamera
from tether.camera.types import CameraInfo, StepClass
from tether.capture import MODES, PrescanOptions, SweepOptions, run_sweep
from tether.cli.capture_commands import sweep as sweep_command
from tether.errors import InvalidInput


def test_the_cli_offers_exactly_the_registered_modes() -> None:
    option = next(p for p in sweep_command.params if p.name == "mode")
    assert isinstance(option.type, click.Choice)
    assert list(option.type.choices) == list(MODES)
    assert option.default == MODES.default == "liveview" == SweepOptions().mode


def test_an_unknown_mode_names_the_modes_there_are() -> None:
    with pytest.raises(InvalidInput) as caught:
        SweepOptions.from_dict({"mode": "video"})
    assert caught.value.message == "mode must be one of liveview, stills, movie, not 'video'"
    assert MODES.pick("stills").label == "Stills (full resolution)"


class NoMovieCamera(SimCamera):
    """A simulated camera that, like many over USB, cannot record movies."""

    @property
    def info(self) -> CameraInfo:
        info = super().info
        return replace(info, capabilities=replace(info.capabilities, movie=False))


def test_a_mode_the_camera_cannot_do_is_refused_before_anything_moves(truth_camera, tmp_path) -> None:
    camera = truth_camera("sim:macro", camera_class=NoMovieCamera)
    path = tmp_path / "m.burst"
    with pytest.raises(Unsupported, match="cannot sweep in movie mode"):
        run_sweep(camera, SweepOptions(mode="movie", range=(30, 130), frames=4), path)
    assert not path.exists()
    result = run_sweep(camera, SweepOptions(mode="liveview", range=(30, 130), frames=4), path)
    assert result["frames"] == 4 and result["mode"] == "liveview"


@pytest.mark.parametrize("body,message", [
    ({"frames": 1}, "frames must be a whole number from 2 to 2000, not 1"),
    ({"frames": 8.5}, "frames must be a whole number from 2 to 2000, not 8.5"),
    ({"max_frames": True}, "max_frames must be a whole number from 2 to 2000, not True"),
    ({"step_count": 0}, "step_count must be a whole number from 1 to 1000, not 0"),
    ({"step": "huge"}, "step must be one of small, medium, large, not 'huge'"),
    ({"range": [50, 10]}, "range must be NEAR:FAR in small focus steps with 0 <= NEAR <= FAR <= 100000, not [50, 10]"),
    ({"range": "40"}, "range must be NEAR:FAR in small focus steps with 0 <= NEAR <= FAR <= 100000, not '40'"),
    ({"from_here": "yes"}, "from_here must be true or false, not 'yes'"),
    ({"path": "/etc/passwd"}, "unknown sweep option 'path': the options are dof, frames, from_here, max_frames, "
                              "mode, range, settle_frames, settle_seconds, step, step_count"),
])
def test_bad_sweep_options_get_one_line_naming_the_option(body: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        SweepOptions.from_dict(body)
    assert caught.value.message == message and not caught.value.hint


def test_good_sweep_options_from_the_api_and_from_the_command_line() -> None:
    from_api = SweepOptions.from_dict({"mode": "stills", "range": [40, 100], "step": "small", "step_count": 10,
                                       "from_here": True, "settle_frames": 2, "frames": None})
    assert (from_api.mode, from_api.range, from_api.step) == ("stills", (40, 100), StepClass.SMALL)
    assert from_api.step_count == 10
    assert from_api.frames is None and from_api.max_frames == 300
    assert from_api.prescan == PrescanOptions(from_here=True, settle_frames=2)
    assert SweepOptions.from_dict({"range": "40:100"}).range == (40, 100)


def test_prescan_options_are_checked_by_the_same_rules() -> None:
    assert PrescanOptions.from_dict({"range": [10, 90], "from_here": False}) == PrescanOptions(range=(10, 90))
    with pytest.raises(InvalidInput, match=r"^max_frames must be a whole number from 2 to 2000, not 1$"):
        PrescanOptions.from_dict({"max_frames": 1})
    with pytest.raises(InvalidInput, match="unknown pre-scan option 'mode'"):
        PrescanOptions.from_dict({"mode": "liveview"})
