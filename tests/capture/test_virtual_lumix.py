"""Pre-scan and sweep through the whole real-camera path: a virtual Lumix over PTP/IP, read by
libgphoto2 (python-gphoto2 built against the system library, where Panasonic focus drive works)
in the supervised child process, driven by the camera owner.

The virtual Lumix renders with a simulated camera in this process, so its ground truth is at
hand: each live-view JPEG reaches the burst unchanged, and its checksum says where focus really was;
a movie's frame k shows where the focus was k / 30 s after its recording began.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tether.burst import open_burst
from tether.camera import open_camera
from tether.config import Settings

from .test_movie_sweep import refocused_frame

ROOT = Path(__file__).resolve().parents[2]
LUMIX_SIM = {"liveview_width": 640, "liveview_height": 360, "liveview_fps": 60.0, "movie_width": 640,
             "movie_height": 360}

pytestmark = pytest.mark.slow


@pytest.fixture
def lumix(truth_camera):
    """(server, the simulated camera rendering for it): a virtual Lumix on a free loopback port."""
    if not (ROOT / ".gphoto2-system" / "gphoto2" / "__init__.py").is_file():
        pytest.skip("python-gphoto2 built against the system libgphoto2 is missing: run `make setup-system`")
    from tether.ptpip import PtpIpServer, VirtualLumix

    source = truth_camera("sim:macro", **LUMIX_SIM)
    server = PtpIpServer(VirtualLumix(source), "127.0.0.1", 0).start()
    yield server, source
    server.stop()


def test_prescan_and_sweep_through_libgphoto2(lumix, make_owner, tmp_path):
    server, source = lumix
    settings = Settings().with_overrides({"gphoto": {"library": "system"}})
    owner, events, _ = make_owner(server.camera_id, opener=lambda: open_camera(server.camera_id, settings))
    assert owner.info.model == "Panasonic DMC-GX8" and owner.info.capabilities.focus_drive

    prescan = owner.start_prescan({}).future.result(120)
    # Panasonic's "large" (four of its big steps) is too coarse to scan with: medium is used and measured
    assert prescan["scale"]["source"] == "measured" and prescan["scale"]["medium"] is not None

    path = tmp_path / "lumix.burst"
    job = owner.start_sweep({"max_frames": 80}, path)
    result = job.future.result(180)
    assert result["frames"] >= 20 and result["status"] == "complete"
    with open_burst(path) as reader:
        truths = [source.truth_of[m.sha256] for m in reader.frames_meta()]
    objects = [o.focus_position for o in source.ground_truth.objects]
    big = prescan["scale"]["medium"]    # one "Near 2" step: the simulated lens's large step
    assert truths[0] <= min(objects) and truths[-1] >= max(objects), (truths, objects)
    assert truths[0] >= min(objects) - big - 1 and truths[-1] <= max(objects) + big + 1
    spacing = result["plan"]["spacing"]
    for focus in objects:
        assert min(abs(t - focus) for t in truths) <= spacing / 2 + 1.5, focus
    assert events.of("sweep.frame", job=job.id)[-1]["index"] == result["frames"] - 1


def test_movie_sweep_through_libgphoto2_places_every_frame(lumix, make_owner, tmp_path):
    server, source = lumix
    # a lens tether is told nothing about: latency drawn in 50-300 ms, and a speed
    rng = np.random.default_rng(11)
    source.motor.spec = replace(source.motor.spec, latency=float(rng.uniform(0.05, 0.3)),
                                speed=float(rng.uniform(150, 600)), step_error=0.0)
    settings = Settings().with_overrides({"gphoto": {"library": "system"}})
    owner, events, _ = make_owner(server.camera_id, opener=lambda: open_camera(server.camera_id, settings))
    assert owner.info.capabilities.movie

    path = tmp_path / "lumix-movie.burst"
    job = owner.start_sweep({"mode": "movie"}, path)
    result = job.future.result(180)
    assert result["status"] == "complete" and server.responder.counters.movies == 1
    with open_burst(path) as reader:
        metas = reader.frames_meta()
        assert reader.frame_image(0).shape[:2] == (360, 640)  # the movie's full size
    assert result["frames"] == len(metas) > result["plan"]["frames"]
    truth = np.array(source.movie_positions(source.movie_started, len(metas)))
    assigned = np.array([m.focus_position for m in metas])
    slope = np.polyfit(truth, assigned, 1)[0]  # the pre-scan's measured step against the lens's
    assert abs(slope - 1) < 0.1, slope
    assert np.mean(np.abs(assigned - truth) <= 1) >= 0.95, (assigned - truth).tolist()  # issue 14's bound
    phases = {e.get("phase") for e in events.of("job.progress", job=job.id)}
    assert {"recording", "downloading", "splitting"} <= phases
    # tapping the nearest object picks a frame whose focus was on it, as on a live-view burst
    nearest = min(source.ground_truth.objects, key=lambda o: o.focus_position)
    frame = refocused_frame(path, source, nearest.name)
    assert abs(truth[frame] - nearest.focus_position) <= 3, (truth[frame], nearest.focus_position)
