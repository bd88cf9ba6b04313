"""`tether prescan` and `tether sweep`, run as a user would (a subprocess of the real command)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tether.burst import open_burst
from tether.camera.sim import MOTOR_RANGE
from tether.capture.sharpness import summarize, thumb_difference
from tether.engine.store import BurstStore

CONFIG = """
[sim]
liveview_width = 480
liveview_height = 270
liveview_fps = 120.0
still_width = 640
still_height = 480
focus_step_ms = 0.2
"""


@pytest.fixture
def cli(run_tether, tmp_path):
    config = tmp_path / "tether.toml"
    config.write_text(CONFIG)
    data = tmp_path / "data"

    def run(*args: str):
        return run_tether("--config", str(config), "--data-dir", str(data), *args)

    run.data = data
    return run


def test_prescan_prints_the_range_and_tile_peaks(cli):
    result = cli("prescan", "--camera", "sim:product")
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("range ") and "small focus steps from the near end stop" in first
    assert "peak position per tile" in result.stdout
    data = json.loads(cli("prescan", "--camera", "sim:product", "--json").stdout)
    assert data["grid"] == [9, 16] and data["range"][0] < data["range"][1]


def test_sweep_with_a_range_writes_a_burst_in_the_data_dir(cli):
    result = cli("sweep", "--camera", "sim:macro", "--range", "40:100", "--step", "small", "--step-count", "10")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wrote 7 frames (liveview, range 40:100")
    path = Path(result.stdout.splitlines()[1])
    # named as the server names bursts, so the panel's gallery lists it
    assert path.stem in BurstStore(cli.data).burst_ids()
    with open_burst(path) as reader:
        assert [m.focus_position for m in reader.frames_meta()] == [40, 50, 60, 70, 80, 90, 100]


def test_full_sweep_in_stills_mode_to_a_named_file(cli, tmp_path):
    out = tmp_path / "stack.burst"
    result = cli("sweep", "--camera", "sim:landscape", "--mode", "stills", "--frames", "8", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout and result.stderr == ""  # progress bars only on a terminal
    with open_burst(out) as reader:
        assert 7 <= reader.frame_count <= 12 and reader.meta(0).width == 640


@pytest.mark.parametrize("args,message", [
    (("sweep", "--camera", "sim:macro", "--range", "100:40"), "range must be NEAR:FAR in small focus steps with "
                                                              "0 <= NEAR <= FAR <= 100000, not '100:40'"),
    (("sweep", "--camera", "sim:macro", "--range", "near:far"), "range must be NEAR:FAR"),
    (("sweep", "--camera", "sim:macro", "--frames", "1"), "frames must be a whole number from 2 to 2000, not 1"),
    (("prescan", "--camera", "sim:nowhere"), "no simulated scene 'nowhere'"),
])
def test_bad_input_is_one_clear_line(cli, args, message):
    result = cli(*args)
    assert result.returncode != 0
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_disconnect_mid_sweep_says_where_the_frames_are(cli, tmp_path):
    out = tmp_path / "cut.burst"
    result = cli("sweep", "--camera", "sim:macro?disconnect_after=40", "--range", "20:200", "--step", "small",
                 "--step-count", "2", "--out", str(out))
    assert result.returncode == 1
    assert f"the frames taken before the fault are in {out}" in result.stderr
    assert "disconnected" in result.stderr.splitlines()[-1] and "all kept in burst cut.burst" in result.stderr
    with open_burst(out) as reader:
        assert 1 <= reader.frame_count < 91 and reader.info()["status"] == "interrupted"


@pytest.mark.parametrize(("mode", "range_args"), [
    ("liveview", ["--range", "0:2000", "--step", "small", "--step-count", "10"]),  # 201 frames planned
    ("stills", ["--range", "0:3000", "--step", "small", "--step-count", "10"]),   # 301 planned
    ("liveview", ["--range", "0:100000"]),  # the range of the report: 299 frames planned, all but 2 at the stop
])
def test_a_range_past_the_far_stop_stops_there_and_warns(cli, mode: str, range_args: list[str]) -> None:
    """Past the lens's travel the frames stop changing (the motor sits at its far stop): the sweep stops there
    and says so, instead of filling the burst with the same frame."""
    result = cli("sweep", "--camera", "sim:macro", "--mode", mode, *range_args)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    burst = Path(lines[1])
    frames = int(lines[0].split()[1])
    warnings = [line for line in lines if line.startswith("warning:")]
    stop = re.fullmatch(r"warning: the range went past the lens's far stop at ~(\d+) steps; stopped", warnings[0])
    assert stop, lines
    assert not any("identical" in w for w in warnings), warnings  # the repeats at the stop are not "lost steps"
    with open_burst(burst) as reader:
        assert reader.frame_count == frames
        thumbs = [summarize(reader.frame_bytes(i)).thumb for i in range(frames)]
        positions = [m.focus_position for m in reader.frames_meta()]
    at = int(stop.group(1))
    k = positions.index(at)  # the frame named as the first at the stop
    assert all(thumb_difference(thumbs[-1], t) < 0.5 for t in thumbs[k:])  # from there on, the same frame
    assert thumb_difference(thumbs[-1], thumbs[0]) > 1.0  # before it, the focus moved
    # a few repeats are seen before stopping, not hundreds; how many depends on how far the sharpness
    # worker (which the watch reads) lags the camera, which a loaded machine stretches
    assert 2 <= frames - k <= 30
    # the simulated lens stops at MOTOR_RANGE; counted positions are a step late (and a few per cent off)
    assert 0.9 * MOTOR_RANGE <= at <= 1.1 * MOTOR_RANGE + positions[1] - positions[0]

def test_a_range_inside_the_travel_is_swept_whole(cli) -> None:
    result = cli("sweep", "--camera", "sim:macro", "--range", "0:200", "--step", "small", "--step-count", "10")
    lines = result.stdout.splitlines()
    burst = Path(lines[1])
    assert lines[0].startswith("wrote 21 frames")
    assert not any("far stop" in line for line in lines)
    with open_burst(burst) as reader:
        assert reader.manifest["summary"]["far_stop"] is None


def test_a_camera_that_cannot_record_refuses_a_movie_sweep_before_it_starts(run_tether, tmp_path) -> None:
    config = tmp_path / "tether.toml"
    config.write_text(CONFIG + "movie = false\n")
    data = tmp_path / "data"
    result = run_tether("--config", str(config), "--data-dir", str(data), "sweep", "--camera", "sim:macro",
                        "--mode", "movie", "--range", "20:60")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "movie" in result.stderr, result.stderr
    assert not list(data.rglob("*.burst"))  # refused before a burst was begun
