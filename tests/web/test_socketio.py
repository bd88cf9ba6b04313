"""Socket.IO: a snapshot on connect, then engine events forwarded, progress throttled, in order."""
from __future__ import annotations

import time

from tether.jobs import Job
from tether.web import socketio


def _events(sio, until, timeout: float = 3.0) -> list[dict]:
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got += [m["args"][0] for m in sio.get_received() if m["name"] == "event"]
        if until(got):
            break
        time.sleep(0.02)
    return got


def test_snapshot_on_connect(app) -> None:
    client = socketio.test_client(app)
    received = client.get_received()
    assert received[0]["name"] == "snapshot"
    snapshot = received[0]["args"][0]
    assert snapshot["server"]["simulated"] is True and "cameras" in snapshot and "jobs" in snapshot
    client.disconnect()


def test_two_clients_see_the_same_events(app, engine) -> None:
    first, second = socketio.test_client(app), socketio.test_client(app)
    first.get_received(), second.get_received()
    engine.bus.publish("burst.added", burst="b1")
    for client in (first, second):
        events = _events(client, lambda got: any(e["type"] == "burst.added" for e in got))
        assert [e["burst"] for e in events if e["type"] == "burst.added"] == ["b1"]
        client.disconnect()


def test_progress_is_coalesced_and_ordered(sio, engine) -> None:
    sio.get_received()
    for i in range(200):
        engine.bus.publish("job.progress", job="j1", done=i, total=200, fraction=i / 200)
    engine.bus.publish("job.done", job="j1", fraction=1.0)
    events = _events(sio, lambda got: any(e["type"] == "job.done" for e in got))
    progress = [e for e in events if e["type"] == "job.progress"]
    assert 1 <= len(progress) < 50  # throttled, not 200 messages
    assert events[-1]["type"] == "job.done"  # nothing stale after the end
    assert progress[-1]["done"] == 199  # the newest value wins
    dones = [e["done"] for e in progress]
    assert dones == sorted(dones)


def test_pool_job_reports_progress_and_result(sio, engine) -> None:
    sio.get_received()

    def work(job: Job) -> dict[str, int]:
        for i in range(5):
            job.check()
            job.report(i + 1, 5)
        return {"answer": 42}

    job = engine.pool.submit("test", work, label="Test work")
    assert job.future.result(timeout=5) == {"answer": 42}
    events = _events(sio, lambda got: any(e["type"] == "job.done" for e in got))
    done = next(e for e in events if e["type"] == "job.done")
    assert done["job"] == job.id and done["fraction"] == 1.0 and done["result"] == {"answer": 42}


def test_cancel_reaches_the_work(client, engine) -> None:
    import threading

    started = threading.Event()

    def work(job: Job) -> dict[str, int]:
        started.set()
        job.wait_cancel(5)
        job.check()
        return {}

    job = engine.pool.submit("test", work, label="Waits for cancel")
    assert started.wait(5)
    response = client.post(f"/api/jobs/{job.id}/cancel")
    assert response.status_code == 202 and response.get_json()["cancelled"] is True
    for _ in range(100):
        if job.state == "cancelled":
            break
        time.sleep(0.02)
    assert job.state == "cancelled"
    assert client.get(f"/api/jobs/{job.id}").get_json()["state"] == "cancelled"
