"""REST API without a camera: bursts by id, frames, delete, download, body validation, jobs."""
from __future__ import annotations

import io
import time
import zipfile

import cv2
import numpy as np


def test_state_snapshot(client) -> None:
    state = client.get("/api/state").get_json()
    assert state["server"]["simulated"] is True
    assert state["server"]["primary_camera"] == "sim:macro"
    assert state["jobs"] == []


def test_gallery_lists_real_bursts(client, burst) -> None:
    first, second = burst(3), burst(4)
    listed = client.get("/api/bursts").get_json()
    assert {b["id"] for b in listed} == {first, second}
    entry = next(b for b in listed if b["id"] == second)
    assert entry["frame_count"] == 4 and entry["camera"] == "Test rig" and entry["status"] == "complete"
    assert "path" not in entry  # the server never tells a client where files are
    detail = client.get(f"/api/bursts/{second}").get_json()
    assert [f["focus_position"] for f in detail["frames"]] == [0, 10, 20, 30]


def test_frames_and_thumbnail_are_jpeg(client, burst) -> None:
    burst_id = burst(3)
    full = client.get(f"/api/bursts/{burst_id}/frames/1.jpg")
    assert full.status_code == 200 and full.mimetype == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(full.data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (64, 96, 3)
    small = client.get(f"/api/bursts/{burst_id}/frames/1.jpg?reduce=2")
    assert cv2.imdecode(np.frombuffer(small.data, np.uint8), cv2.IMREAD_COLOR).shape == (32, 48, 3)
    assert client.get(f"/api/bursts/{burst_id}/frames/1.jpg?reduce=3").status_code == 400
    missing = client.get(f"/api/bursts/{burst_id}/frames/9.jpg")  # the API counts from 0, and says so
    assert missing.status_code == 404
    assert missing.get_json()["error"] == f"burst {burst_id} has no frame index 9 (indices go from 0 to 2)"
    thumb = client.get(f"/api/bursts/{burst_id}/thumbnail.jpg")
    assert thumb.status_code == 200 and thumb.data[:2] == b"\xff\xd8"


def test_download_is_the_burst_file(client, burst, engine) -> None:
    burst_id = burst(2)
    response = client.get(f"/api/bursts/{burst_id}/download")
    assert response.status_code == 200
    assert response.data == engine.store.burst_path(burst_id).read_bytes()
    assert len([n for n in zipfile.ZipFile(io.BytesIO(response.data)).namelist() if n.startswith("frames/")]) == 2


def test_delete_removes_and_announces(client, burst, engine, sio) -> None:
    burst_id = burst(2)
    sio.get_received()
    assert client.delete(f"/api/bursts/{burst_id}").status_code == 200
    assert not engine.store.bursts_dir.joinpath(f"{burst_id}.burst").exists()
    assert client.delete(f"/api/bursts/{burst_id}").status_code == 404
    deadline = time.monotonic() + 3
    events = []
    while time.monotonic() < deadline and not any(e.get("type") == "burst.deleted" for e in events):
        events += [m["args"][0] for m in sio.get_received() if m["name"] == "event"]
        time.sleep(0.05)
    assert any(e["type"] == "burst.deleted" and e["burst"] == burst_id for e in events)


def test_ids_never_reach_the_file_system_as_paths(client, engine, burst) -> None:
    burst_id = burst(1)
    secret = engine.store.root / "secret.burst"
    secret.write_bytes(engine.store.burst_path(burst_id).read_bytes())
    for bad in ("..%2Fsecret", "..", ".hidden", "a.b", "%2e%2e"):
        response = client.get(f"/api/bursts/{bad}/download")
        assert response.status_code == 404, bad
    assert client.get("/api/exports/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert client.get("/refocus/..%2Fsecret").status_code == 404


def test_bad_bodies_get_400_naming_the_problem(client, burst) -> None:
    burst_id = burst(3)
    not_json = client.post(f"/api/bursts/{burst_id}/stack", data="range=1", content_type="text/plain")
    assert not_json.status_code == 400 and "JSON" in not_json.get_json()["error"]
    broken = client.post(f"/api/bursts/{burst_id}/stack", data="{", content_type="application/json")
    assert broken.status_code == 400 and "not valid JSON" in broken.get_json()["error"]
    unknown = client.post(f"/api/bursts/{burst_id}/stack", json={"methd": "pyramid"})
    assert unknown.status_code == 400 and "'methd'" in unknown.get_json()["error"]
    wrong = client.post(f"/api/bursts/{burst_id}/stack", json={"method": "magic"})
    assert wrong.status_code == 400 and "pyramid" in wrong.get_json()["error"]
    backwards = client.post(f"/api/bursts/{burst_id}/stack", json={"range": [2, 1]})
    assert backwards.status_code == 400 and "first <= last" in backwards.get_json()["error"]
    # past the burst's 3 frames: refused at once (not a job that stacks other frames than asked for)
    beyond = client.post(f"/api/bursts/{burst_id}/stack", json={"range": [1, 99999]})
    assert beyond.status_code == 400, beyond.get_json()
    assert "frame range 1-99999 is not within the frames there are, 0-2" in beyond.get_json()["error"]
    assert client.post(f"/api/bursts/{burst_id}/stack", json=[1, 2]).status_code == 400
    assert client.post(f"/api/bursts/{burst_id}/export", json={"format": "frame"}).status_code == 400
    assert client.get(f"/api/bursts/{burst_id}/refocus?x=0.5").status_code == 400
    assert client.get(f"/api/bursts/{burst_id}/refocus?x=2&y=0.5").status_code == 400


def test_unknown_job_is_404(client) -> None:
    assert client.post("/api/jobs/nope/cancel").status_code == 404
    assert client.get("/api/jobs/20260101-000000-abcdef").status_code == 404


def test_pages_render(client, burst) -> None:
    burst_id = burst(2)
    for path in ("/", "/postfocus", "/bursts", f"/refocus/{burst_id}", f"/stack/{burst_id}"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert b"Simulated camera" in page.data
        assert b'type="module"' in page.data
    assert client.get("/refocus/20260101-000000-abcdef").status_code == 404
    assert client.get("/static/js/core.js").status_code == 200
    vendor = client.get("/vendor/socket.io.esm.min.js")
    assert vendor.status_code == 200 and b"export" in vendor.data
    assert client.get("/vendor/../package.json").status_code == 404


def test_frame_plan_before_the_sweep(client) -> None:
    by_count = client.post("/api/plan", json={"range": [10, 100], "frames": 10}).get_json()
    assert (
        2 <= by_count["frames"] <= 10 and by_count["start"] == 10 and len(by_count["positions"]) == by_count["frames"]
    )
    by_dof = client.post("/api/plan", json={"range": [10, 100], "dof": 3.0, "large": 8.0}).get_json()
    assert by_dof["frames"] >= 25 and "overlap" in by_dof["reason"]
    assert client.post("/api/plan", json={"range": [10, 100], "frames": 1}).status_code == 400
    assert client.post("/api/plan", json={"frames": 5}).status_code == 400


def test_answers_never_show_server_paths(engine) -> None:
    from tether.web.jsonable import jsonable

    root = str(engine.store.root) + "/"
    burst = f"{root}bursts/20260101-000000-abcdef.burst"
    out = jsonable({"burst": burst, "error": f"{burst}: the disk is full", "n": float("nan")}, root)
    assert out == {
        "burst": "20260101-000000-abcdef",
        "error": "bursts/20260101-000000-abcdef.burst: the disk is full",
        "n": None,
    }


def test_the_plan_says_the_frame_count_it_will_take_and_stays_within_far(client) -> None:
    plan = client.post("/api/plan", json={"range": [100, 900], "frames": 100}).get_json()
    assert plan["frames"] == len(plan["positions"]) < 100
    assert plan["reason"] == f"{plan['frames']} frames (100 asked: the gap must be a whole number of steps)"
    assert plan["positions"][-1] == plan["end"] <= 900 and plan["positions"][0] <= 100


def test_a_page_that_cannot_be_shown_is_a_page_that_says_why(client) -> None:
    html = {"Accept": "text/html,application/xhtml+xml"}
    for path in ("/refocus/20260101-000000-abcdef", "/stack/20260101-000000-abcdef", "/depth/nope"):
        page = client.get(path, headers=html)
        assert page.status_code == 404 and page.mimetype == "text/html", path
        text = page.get_data(as_text=True)
        assert "no burst" in text and 'href="/bursts"' in text and '{"error"' not in text, text
    lost = client.get("/no/such/page", headers=html)
    assert lost.status_code == 404 and "There is no page at this address." in lost.get_data(as_text=True)
    # the API (and a script asking for JSON) still gets one line of JSON
    api = client.get("/api/bursts/20260101-000000-abcdef", headers=html)
    assert api.status_code == 404 and "no burst" in api.get_json()["error"]
    assert client.get("/refocus/20260101-000000-abcdef", headers={"Accept": "application/json"}).is_json
