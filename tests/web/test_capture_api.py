"""Pre-scan and sweep through the REST API with Socket.IO watchers: 202 + job, 409 on conflicts,
events to every client with ids (never paths), cancel keeps a valid burst."""
from __future__ import annotations

import re
import time

import pytest

from tests.web.test_imaging_api import wait_job
from tether.burst import open_burst
from tether.capture import MODES
from tether.web import socketio

pytestmark = pytest.mark.slow


def events_until(clients, done, timeout: float = 60.0) -> list[list[dict]]:  # type: ignore[no-untyped-def]
    got: list[list[dict]] = [[] for _ in clients]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for i, client in enumerate(clients):
            got[i] += [m["args"][0] for m in client.get_received() if m["name"] == "event"]
        if all(done(g) for g in got):
            break
        time.sleep(0.05)
    return got


def finished(job_id: str):  # type: ignore[no-untyped-def]
    return lambda events: any(e["type"] in ("job.done", "job.error") and e.get("job") == job_id for e in events)


@pytest.fixture
def started(engine):  # type: ignore[no-untyped-def]
    engine.start()
    assert engine.owner_for().frames.wait_next(0, 20) is not None
    return engine


def test_sweep_is_seen_by_two_clients_and_conflicts_get_409(app, client, started) -> None:
    watchers = [socketio.test_client(app), socketio.test_client(app)]
    for w in watchers:
        w.get_received()
    assert client.post("/api/sessions", json={"name": "Shoot", "template": "{session}-{seq:03}"}).status_code < 300
    assert client.post("/api/sessions/Shoot/use").status_code == 200
    response = client.post("/api/cameras/sim:macro/sweep", json={"range": [30, 110], "frames": 8})
    assert response.status_code == 202, response.get_json()
    job, burst = response.get_json()["job"], response.get_json()["burst"]
    assert burst == "Shoot-001"
    busy = client.post("/api/cameras/sim:macro/prescan", json={})
    assert busy.status_code == 409 and "busy" in busy.get_json()["error"]
    # a sweep refused as busy does not use up the session's next name
    assert client.post("/api/cameras/sim:macro/sweep", json={"range": [30, 110], "frames": 8}).status_code == 409
    assert client.put("/api/cameras/sim:macro/settings/iso", json={"value": "400"}).status_code == 409
    assert client.delete(f"/api/bursts/{burst}").status_code == 409  # still being written
    got = events_until(watchers, finished(job))
    for events in got:
        mine = [e for e in events if e.get("job") == job]
        assert any(e["type"] == "job.progress" for e in mine)
        frames = [e for e in mine if e["type"] == "sweep.frame"]
        assert frames and all(e["burst"] == burst for e in frames)  # an id, not a server path
        done = [e for e in mine if e["type"] == "job.done"]
        assert done and done[0]["result"]["burst"] == burst
        assert "/" not in str(done[0]["result"])
    for w in watchers:
        w.disconnect()
    again = client.post("/api/cameras/sim:macro/sweep", json={"range": [30, 110], "frames": 8})
    assert again.status_code == 202 and again.get_json()["burst"] == "Shoot-002", again.get_json()
    assert wait_job(client, again.get_json()["job"], timeout=60)["state"] == "done"
    listed = {b["id"]: b for b in client.get("/api/bursts").get_json()}
    assert listed[burst]["frame_count"] >= 2 and listed[burst]["status"] == "complete"
    state = client.get(f"/api/jobs/{job}").get_json()
    assert state["state"] == "done" and state["fraction"] == 1.0


def test_prescan_result_and_cancelled_sweep(client, started) -> None:
    prescan = client.post("/api/cameras/sim:macro/prescan", json={})
    assert prescan.status_code == 202
    job = prescan.get_json()["job"]
    deadline = time.monotonic() + 60
    while client.get(f"/api/jobs/{job}").get_json()["state"] not in ("done", "error"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    result = client.get(f"/api/jobs/{job}").get_json()["result"]
    near, far = result["range"]
    assert 0 <= near < far and result["curves"] and result["positions"]
    sweep = client.post("/api/cameras/sim:macro/sweep", json={"range": [near, far], "frames": 60}).get_json()
    time.sleep(1.0)
    assert client.post(f"/api/jobs/{sweep['job']}/cancel").get_json()["cancelled"] is True
    deadline = time.monotonic() + 30
    while client.get(f"/api/jobs/{sweep['job']}").get_json()["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert client.get(f"/api/jobs/{sweep['job']}").get_json()["state"] == "cancelled"
    detail = client.get(f"/api/bursts/{sweep['burst']}").get_json()
    assert 0 < detail["frame_count"] < 60  # a valid burst of the frames taken


def test_bad_sweep_options_are_400(client, started) -> None:
    assert client.post("/api/cameras/sim:macro/sweep", json={"mode": "video"}).status_code == 400
    assert client.post("/api/cameras/sim:macro/sweep", json={"frames": 1}).status_code == 400
    assert client.post("/api/cameras/sim:macro/sweep", json={"range": [50, 10]}).status_code == 400
    assert client.post("/api/cameras/sim:macro/sweep", json={"path": "/etc/passwd"}).status_code == 400


@pytest.mark.parametrize("cli_args,body", [
    (["--frames", "1"], {"frames": 1}),
    (["--max-frames", "5000"], {"max_frames": 5000}),
    (["--step-count", "0"], {"step_count": 0}),
    (["--range", "100:40"], {"range": "100:40"}),
])
def test_a_bad_sweep_option_gets_the_same_line_from_the_api_and_the_cli(client, run_tether, data_dir, cli_args,
                                                                        body) -> None:
    response = client.post("/api/cameras/sim:macro/sweep", json=body)
    assert response.status_code == 400
    message = response.get_json()["error"]
    assert message.startswith(next(iter(body)))  # it names the option
    result = run_tether("--data-dir", str(data_dir), "sweep", "--camera", "sim:macro", *cli_args)
    assert result.returncode == 1 and result.stderr == f"tether: {message}\n"


def test_the_post_focus_page_offers_exactly_the_registered_modes(client) -> None:
    page = client.get("/postfocus").get_data(as_text=True)
    select = re.search(r'<select id="mode">(.*?)</select>', page, re.S)
    assert select is not None
    offered = re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', select.group(1))
    assert offered == [(mode.name, mode.label) for mode in MODES.values()]
    # each with the capability it needs, so the page offers only what the camera can do
    assert re.findall(r'data-needs="([^"]+)"', select.group(1)) == [mode.needs for mode in MODES.values()]


# A sweep keeps the exposure tether set (live-view frames carry no EXIF): the Depth page and
# `tether aperture` then agree on the aperture the burst was shot at.
def test_the_aperture_set_before_a_sweep_is_what_the_burst_says_it_was_shot_at(client, started, run_tether) -> None:
    assert client.put("/api/cameras/sim:macro/settings/aperture", json={"value": "8"}).status_code == 200
    sweep = client.post("/api/cameras/sim:macro/sweep", json={"range": [30, 110], "frames": 6}).get_json()
    assert wait_job(client, sweep["job"], timeout=60)["state"] == "done"
    burst = sweep["burst"]
    path = started.store.burst_path(burst)
    with open_burst(path) as reader:
        exposures = [m.exposure for m in reader.frames_meta()]
    assert len(exposures) == 6 and all(e == {"f_number": 8.0, "shutter": "1/125", "iso": "200"} for e in exposures)

    made = client.post(f"/api/bursts/{burst}/refocus-map").get_json()
    if not made.get("ready"):
        assert wait_job(client, made["job"], timeout=60)["state"] == "done"
    assert client.get(f"/api/bursts/{burst}/depth").get_json()["captured_f_number"] == 8.0

    result = run_tether("aperture", str(path), "--focus", "100,80", "--f-number", "4",
                        "--out", str(path.with_name("wide.jpg")))
    assert result.returncode == 0, result.stderr
    assert "from f/8" in result.stdout
