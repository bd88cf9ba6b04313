"""Moving subjects through the REST API: the stack job names its motion map, taps on the subject name no frame."""
from __future__ import annotations

import time

import cv2
import numpy as np

from tests.imaging.independent_render import render_stack
from tests.imaging.moving_object import add_moving_subject
from tests.web.test_imaging_api import wait_job
from tether.burst import BurstWriter, FrameMeta


def test_a_stack_with_a_moving_subject_offers_its_motion_map(client, engine, focus_burst) -> None:
    subject = add_moving_subject(render_stack((320, 240), frames=8, seed=3).frames)
    burst_id, path = engine.store.new_burst_path()
    with BurstWriter.create(path, camera={"model": "Test rig"}, sweep={"mode": "stills"}) as writer:
        for k, frame in enumerate(subject.frames):
            _, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
            writer.append(data.tobytes(), FrameMeta(captured_at=time.time(), focus_position=20 * k))
    job = wait_job(client, client.post(f"/api/bursts/{burst_id}/stack", json={}).get_json()["job"])
    assert job["state"] == "done", job
    motion = client.get(f"/api/exports/{job['result']['motion_map']}")
    assert motion.status_code == 200
    found = cv2.imdecode(np.frombuffer(motion.data, np.uint8), cv2.IMREAD_UNCHANGED) > 0
    x, y = subject.centres[subject.sharp_frame]
    assert found[round(y), round(x)] and found.mean() < 0.5
    tap = client.get(f"/api/bursts/{burst_id}/refocus?x={x / 320:.4f}&y={y / 240:.4f}").get_json()
    assert tap["frame"] is None and tap["moving"] is True
    # A burst where nothing moved: no motion map, and taps name frames.
    still = focus_burst(6)
    job = wait_job(client, client.post(f"/api/bursts/{still}/stack", json={}).get_json()["job"])
    assert job["state"] == "done" and job["result"]["motion_map"] is None
    assert client.get(f"/api/bursts/{still}/refocus?x=0.5&y=0.5").get_json()["moving"] is False
