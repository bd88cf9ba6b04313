"""Near and far marks and the coverage fixes through the REST API, on the simulated camera."""
from __future__ import annotations

import threading
import time

import pytest

from tether.burst import open_burst
from tether.engine import Engine
from tether.engine.camera_memory import SWEEPS, CameraMemory
from tether.imaging import FOCUS_INDEX_NAME
from tether.imaging.refocus import FocusIndex

pytestmark = pytest.mark.slow
CAMERA = "/api/cameras/sim:macro"


@pytest.fixture
def started(engine):  # type: ignore[no-untyped-def]
    engine.start()
    assert engine.owner_for().frames.wait_next(0, 20) is not None
    return engine


def finished(client, job_id: str) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 90
    while (job := client.get(f"/api/jobs/{job_id}").get_json())["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    return job


def lens(client) -> dict:  # type: ignore[no-untyped-def]
    return client.get("/api/state").get_json()["cameras"][0]["lens"]


def test_marks_need_a_counted_position_and_keep_the_frame_seen(client, started) -> None:
    refused = client.post(f"{CAMERA}/marks", json={"end": "near"})
    assert refused.status_code == 409 and "pre-scan" in refused.get_json()["hint"]
    assert client.get(f"{CAMERA}/marks/near.jpg").status_code == 404
    assert client.post(f"{CAMERA}/marks", json={"end": "middle"}).status_code == 400
    assert client.get(f"{CAMERA}/marks/middle.jpg").status_code == 400
    # a sweep counts the position too (the pre-scan's count is checked against the truth in tests/capture)
    swept = client.post(f"{CAMERA}/sweep", json={"range": [30, 60], "step": "small", "step_count": 10}).get_json()
    assert finished(client, swept["job"])["state"] == "done"
    before = lens(client)
    assert before["position"] == 60 and before["travel"] is None
    assert client.post(f"{CAMERA}/focus", json={"direction": "far", "step": "small", "count": 25}).status_code == 200
    assert lens(client)["position"] == before["position"] + 25
    mark = client.post(f"{CAMERA}/marks", json={"end": "far"}).get_json()
    assert mark["position"] == 85 and mark["fraction"] is None  # no pre-scan has measured the travel
    preview = client.get(f"{CAMERA}/marks/far.jpg")
    assert preview.status_code == 200 and preview.data[:2] == b"\xff\xd8"
    assert client.get("/api/state").get_json()["cameras"][0]["marks"]["far"]["position"] == mark["position"]


def test_extend_merges_into_the_burst_in_focus_order_and_analyses_the_merged_frames(client, started) -> None:
    swept = client.post(f"{CAMERA}/sweep", json={"range": [20, 100], "step": "small", "step_count": 8}).get_json()
    assert finished(client, swept["job"])["state"] == "done"
    burst = swept["burst"]
    before = client.get(f"/api/bursts/{burst}").get_json()
    assert before["summary"]["coverage"]["beyond_far"]  # the far subjects lie past 100
    assert client.post(f"/api/bursts/{burst}/refocus-map").status_code == 200  # ready: analysed while captured
    for bad in ({"toward": "up", "steps": 10}, {"toward": "far"}, {"toward": "far", "steps": 0}):
        assert client.post(f"/api/bursts/{burst}/extend", json=bad).status_code == 400
    assert client.post(f"/api/bursts/{burst}/reshoot", json={"after": 99}).status_code == 400

    # a job still working on the old frames (here one that waits) holds the re-shoot off: it would store
    # what it made of them into the merged burst
    release = threading.Event()
    holding = started.pool.submit("stack", lambda job: {"held": release.wait(30)}, label="Stack", subject=burst)
    refused = client.post(f"/api/bursts/{burst}/extend", json={"toward": "far", "steps": 110})
    release.set()
    assert refused.status_code == 409 and "in use (Stack)" in refused.get_json()["error"]
    holding.future.result(timeout=30)

    labels = {"title": "Watch, dial side", "notes": "far end re-shot"}
    assert client.patch(f"/api/bursts/{burst}", json=labels).status_code == 200
    started_fix = client.post(f"/api/bursts/{burst}/extend", json={"toward": "far", "steps": 110})
    assert started_fix.status_code == 202, started_fix.get_json()
    assert client.delete(f"/api/bursts/{burst}").status_code == 409  # being re-shot
    done = finished(client, started_fix.get_json()["job"])
    assert done["state"] == "done", done
    after = client.get(f"/api/bursts/{burst}").get_json()
    positions = [f["focus_position"] for f in after["frames"]]
    assert positions == sorted(positions) and len(positions) == done["result"]["frames"] > before["frame_count"]
    assert positions[-1] > 180 and not after["summary"]["coverage"]["beyond_far"]
    assert {k: after[k] for k in labels} == labels  # the burst's title and notes survive its re-shoot
    # the re-shoot analysed the merged frames: their focus index (Refocus is ready) and stack preview are kept
    with open_burst(started.store.burst_path(burst)) as reader:
        assert FocusIndex.from_bytes(reader.derived(FOCUS_INDEX_NAME)).frame_count == len(positions)
    assert client.post(f"/api/bursts/{burst}/refocus-map").status_code == 200
    preview = client.get(f"/api/bursts/{burst}/stack-preview.jpg")
    assert preview.status_code == 200 and preview.data[:2] == b"\xff\xd8"
    assert [b["id"] for b in client.get("/api/bursts").get_json()] == [burst]  # the extra sweep is not listed

    # a gap: between the first two frames, in focus order
    gap = client.post(f"/api/bursts/{burst}/reshoot", json={"after": 0})
    assert gap.status_code == 202 and finished(client, gap.get_json()["job"])["state"] == "done"
    refilled = [f["focus_position"] for f in client.get(f"/api/bursts/{burst}").get_json()["frames"]]
    assert refilled == sorted(refilled) and len(refilled) > len(positions)
    assert positions[0] < refilled[1] < positions[1]


def test_the_state_keeps_the_last_sweep_as_asked_and_how_it_ended_across_a_restart(client, started,
                                                                                  settings) -> None:
    swept = client.post(f"{CAMERA}/sweep", json={"range": [30, 90], "frames": 5}).get_json()
    assert finished(client, swept["job"])["state"] == "done"
    last = client.get("/api/state").get_json()["cameras"][0]["last_sweep"]
    assert {k: last[k] for k in ("job", "burst", "range", "frames", "mode", "state")} == {
        "job": swept["job"], "burst": swept["burst"], "range": [30, 90], "frames": 5, "mode": "liveview",
        "state": "done"}
    # one a server was running when it stopped (its record still says running): the next server says so
    CameraMemory(started.store.root, SWEEPS).remember("sim:macro", {**last, "job": "gone", "state": "running"})
    restarted = Engine(settings, camera_id="sim:macro", simulated=True).start()
    try:
        again = restarted.snapshot()["cameras"][0]["last_sweep"]
        assert (again["burst"], again["range"], again["state"]) == (swept["burst"], [30, 90], "interrupted")
    finally:
        restarted.close()
