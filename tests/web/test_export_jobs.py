"""Export jobs through the REST API: the same export asked for again while it is under way is that job (one
file, not several identical ones), and a job that left damaged frames out names them in ``skipped``."""
from __future__ import annotations

import threading
import zipfile

from tests.web.conftest import write_burst
from tests.web.test_imaging_api import wait_job


def test_the_same_export_asked_again_while_queued_is_the_same_job(client, engine) -> None:
    burst_id = write_burst(engine, frames=4)
    release = threading.Event()
    # every worker busy with earlier work, as on a server stacking: the exports below wait in the queue
    busy = [engine.pool.submit("stack", lambda job: {"waited": release.wait(30)}, label="earlier work")
            for _ in range(2)]
    try:
        def export(**body: object) -> str:
            answer = client.post(f"/api/bursts/{burst_id}/export", json=body)
            assert answer.status_code == 202, answer.get_json()
            return str(answer.get_json()["job"])

        zips = {export(format="zip") for _ in range(3)}
        movie = export(format="mp4")
        frames = [export(format="frame", frame=1), export(format="frame", frame=1), export(format="frame", frame=2)]
        saved = client.post(f"/api/bursts/{burst_id}/save-frame", json={"frame": 1}).get_json()["job"]
    finally:
        release.set()
    assert len(zips) == 1 and movie not in zips
    assert frames[0] == frames[1] == saved != frames[2]
    for job_id in [*zips, movie, frames[0], frames[2], *(job.id for job in busy)]:
        assert wait_job(client, job_id)["state"] == "done"
    names = [e["name"] for e in client.get("/api/exports").get_json()]
    assert sorted(name.rsplit(".", 1)[1] for name in names) == ["jpg", "jpg", "mp4", "zip"], names
    assert {f"{burst_id}-frame0002.jpg", f"{burst_id}-frame0003.jpg"} <= set(names)
    # once it has ended, asking again makes a new export (the burst may have changed since)
    again = wait_job(client, export(format="zip"))
    assert again["job"] not in zips and again["result"]["name"] not in names


def test_an_export_job_names_the_damaged_frames_it_left_out(client, engine) -> None:
    burst_id = write_burst(engine, frames=5)
    path = engine.store.burst_path(burst_id)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("frames/000003.jpg")  # frame 4, counted from 1
    raw[info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(raw))

    results = {}
    for fmt in ("zip", "mp4"):
        job = wait_job(client, client.post(f"/api/bursts/{burst_id}/export", json={"format": fmt}).get_json()["job"])
        assert job["state"] == "done", job
        results[fmt] = job["result"]
        assert job["result"]["skipped"] == [4], job["result"]
    with zipfile.ZipFile(engine.store.export(results["zip"]["export"]).path) as archive:
        assert len(archive.namelist()) == 4  # every other frame is there
    intact = write_burst(engine, frames=3)
    job = wait_job(client, client.post(f"/api/bursts/{intact}/export", json={"format": "zip"}).get_json()["job"])
    assert job["result"]["skipped"] == []


def test_an_mp4_export_says_it_is_finishing_the_movie_after_its_last_frame(client, engine) -> None:
    """The panel's progress line reads "Export MP4: 100 % — 3 of 3 (finishing the movie)" while the encoder
    writes the file, rather than a 100 % that looks stuck (seconds on a loaded machine)."""
    burst_id = write_burst(engine, frames=3)
    seen: list[tuple[str, str, bool]] = []
    stop = engine.bus.subscribe(lambda event: event["type"].startswith("job.") and event.get("subject") == burst_id
                                and seen.append((event["type"], event["phase"], bool(event["result"]))))
    try:
        job = wait_job(client, client.post(f"/api/bursts/{burst_id}/export", json={"format": "mp4"}).get_json()["job"])
    finally:
        stop()
    assert job["state"] == "done", job
    assert seen[-2:] == [("job.progress", "finishing the movie", False), ("job.done", "finishing the movie", True)]
