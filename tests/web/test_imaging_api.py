"""Refocus, stacking and exports through the REST API on real bursts (jobs, progress, downloads)."""
from __future__ import annotations

import io
import time
import zipfile

import cv2
import numpy as np
import pytest


def wait_job(client, job_id: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").get_json()
        if job["state"] in ("done", "error", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def test_refocus_picks_the_sharp_frame(client, focus_burst, engine) -> None:
    burst_id = focus_burst(6)
    early = client.get(f"/api/bursts/{burst_id}/refocus?x=0.25&y=0.5")
    assert early.status_code == 409 and "not ready" in early.get_json()["error"]
    started = client.post(f"/api/bursts/{burst_id}/refocus-map")
    assert started.status_code == 202
    assert wait_job(client, started.get_json()["job"])["state"] == "done"
    assert client.post(f"/api/bursts/{burst_id}/refocus-map").get_json() == {"ready": True}
    left = client.get(f"/api/bursts/{burst_id}/refocus?x=0.2&y=0.5").get_json()
    right = client.get(f"/api/bursts/{burst_id}/refocus?x=0.8&y=0.5").get_json()
    assert left["frame"] <= 1 and right["frame"] >= 4, (left, right)
    assert 0 <= left["confidence"] <= 1 and isinstance(left["alternatives"], list)
    # cached in the burst: a fresh engine answers without recomputing
    engine.bursts.forget(burst_id)
    assert client.post(f"/api/bursts/{burst_id}/refocus-map").get_json() == {"ready": True}
    depth = client.get(f"/api/bursts/{burst_id}/depthmap.png")
    assert depth.status_code == 200
    image = cv2.imdecode(np.frombuffer(depth.data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image.dtype == np.uint16 and image.shape == (128, 192)
    assert image[:, :60].mean() > image[:, -60:].mean()  # near (left, frame 0) is bright


@pytest.mark.parametrize("fmt,suffix", [("jpeg", ".jpg"), ("tiff", ".tif")])
def test_range_stack_is_exported_and_downloadable(client, focus_burst, fmt, suffix) -> None:
    burst_id = focus_burst(6)
    started = client.post(f"/api/bursts/{burst_id}/stack", json={"range": [1, 4], "format": fmt})
    assert started.status_code == 202
    job = wait_job(client, started.get_json()["job"])
    assert job["state"] == "done", job
    result = job["result"]
    assert result["frames"] == 4 and result["range"] == [1, 4] and result["name"].endswith(suffix)
    download = client.get(f"/api/exports/{result['export']}")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    image = cv2.imdecode(np.frombuffer(download.data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image.shape[:2] == (128, 192)
    preview = client.get(f"/api/exports/{result['preview']}?inline=1")
    assert preview.status_code == 200 and preview.data[:2] == b"\xff\xd8"
    listed = {e["id"] for e in client.get("/api/exports").get_json()}
    assert result["export"] in listed


def test_stack_of_one_frame_fails_clearly(client, focus_burst) -> None:
    burst_id = focus_burst(4)
    # refused at once, not by a job that fails later
    answer = client.post(f"/api/bursts/{burst_id}/stack", json={"range": [2, 2]})
    assert answer.status_code == 422 and "fewer than two" in answer.get_json()["error"], answer.get_json()


def test_exports_zip_and_frame(client, burst) -> None:
    burst_id = burst(3)
    job = wait_job(client, client.post(f"/api/bursts/{burst_id}/export", json={"format": "zip"}).get_json()["job"])
    assert job["state"] == "done", job
    data = client.get(f"/api/exports/{job['result']['export']}").data
    assert len([n for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if n.endswith(".jpg")]) == 3
    saved = wait_job(client, client.post(f"/api/bursts/{burst_id}/save-frame", json={"frame": 1}).get_json()["job"])
    assert saved["state"] == "done" and saved["result"]["name"].endswith(".jpg")
    frame = client.get(f"/api/exports/{saved['result']['export']}").data
    from PIL import Image

    assert Image.open(io.BytesIO(frame)).getexif()  # saved with EXIF
    missing = client.post(f"/api/bursts/{burst_id}/save-frame", json={"frame": 7})  # refused at once, no job
    assert missing.status_code == 404
    assert missing.get_json()["error"] == f"burst {burst_id} has no frame index 7 (indices go from 0 to 2)"


@pytest.mark.slow
def test_mp4_export(client, burst) -> None:
    burst_id = burst(4)
    job = wait_job(client, client.post(f"/api/bursts/{burst_id}/export", json={"format": "mp4"}).get_json()["job"], 60)
    assert job["state"] == "done", job
    data = client.get(f"/api/exports/{job['result']['export']}").data
    assert data[4:8] == b"ftyp"


def test_the_stack_page_offers_what_the_api_takes(client, focus_burst) -> None:
    from tether.imaging import FORMATS, METHODS

    burst_id = focus_burst(4)
    page = client.get(f"/stack/{burst_id}").get_data(as_text=True)
    for name, choices in (("method", METHODS), ("format", FORMATS)):
        menu = page.split(f'<select id="{name}">')[1].split("</select>")[0]
        offered = [part.split('"')[0] for part in menu.split('value="')[1:]]
        assert offered == list(choices), (name, offered)
        assert "selected" in menu.split(f'value="{choices.default}"')[1].split("</option>")[0]
    for method in METHODS:
        started = client.post(f"/api/bursts/{burst_id}/stack", json={"method": method, "format": "png"})
        assert started.status_code == 202
        assert wait_job(client, started.get_json()["job"])["result"]["method"] == method
    refused = client.post(f"/api/bursts/{burst_id}/stack", json={"method": "median"}).get_json()
    assert all(name in refused["error"] for name in METHODS), refused


def test_a_raw_burst_is_shown_stacked_to_16_bit_and_its_frames_saved_as_the_camera_wrote_them(client, engine) -> None:
    from tether.burst import BurstWriter, FrameMeta
    from tether.camera.sim import render
    from tether.camera.sim.dng import dng_bytes
    from tether.camera.sim.exif import Exposure

    burst_id, path = engine.store.new_burst_path()
    pictures = [render("macro", position, (192, 128), f_number=2.8) for position in (150, 350, 550)]
    dngs = [dng_bytes(p, make="tether", model="sim", exposure=Exposure("1/125", "2.8", "200")) for p in pictures]
    with BurstWriter.create(path, camera={"model": "sim"}, sweep={"mode": "stills"}) as writer:
        for k, data in enumerate(dngs):
            writer.append(data, FrameMeta(focus_position=100 * k, source="still", filename=f"SIM_{k + 1:04d}.DNG"))
    shown = client.get(f"/api/bursts/{burst_id}/frames/1.jpg")
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    assert cv2.PSNR(cv2.imdecode(np.frombuffer(shown.data, np.uint8), cv2.IMREAD_COLOR), pictures[1]) > 35
    assert client.get(f"/api/bursts/{burst_id}/thumbnail.jpg").data[:2] == b"\xff\xd8"

    job = wait_job(client, client.post(f"/api/bursts/{burst_id}/stack", json={"format": "tiff"}).get_json()["job"])
    assert job["state"] == "done", job
    stacked = cv2.imdecode(np.frombuffer(client.get(f"/api/exports/{job['result']['export']}").data, np.uint8),
                           cv2.IMREAD_UNCHANGED)
    assert stacked.dtype == np.uint16 and stacked.shape == (128, 192, 3)

    saved = wait_job(client, client.post(f"/api/bursts/{burst_id}/save-frame", json={"frame": 2}).get_json()["job"])
    assert saved["state"] == "done" and saved["result"]["name"].endswith(".dng")
    assert client.get(f"/api/exports/{saved['result']['export']}").data == dngs[2]


def test_the_gallery_thumbnail_is_the_stack_once_there_is_one(client, engine) -> None:
    from tether.burst import BurstWriter, FrameMeta

    # cells of 64 px, whose edges a thumbnail (1/8) still shows: the left half sharp in frame 0, the right in frame 4
    rng = np.random.default_rng(3)
    scene = cv2.resize((rng.random((12, 20, 3)) * 255).astype(np.uint8), (1280, 768), interpolation=cv2.INTER_NEAREST)
    burst_id, path = engine.store.new_burst_path()
    with BurstWriter.create(path, camera={"model": "Test rig"}, sweep={"mode": "liveview"}) as writer:
        for i in range(5):
            frame = scene.copy()
            frame[:, :640] = cv2.GaussianBlur(scene, (0, 0), 0.3 + 6 * i)[:, :640]
            frame[:, 640:] = cv2.GaussianBlur(scene, (0, 0), 0.3 + 6 * (4 - i))[:, 640:]
            writer.append(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes(),
                          FrameMeta(focus_position=10 * i))

    def thumbnail_psnr() -> float:
        # as the gallery asks for it: versioned by the burst's size (a browser's cached copy is not shown after a stack)
        version = next(b["bytes"] for b in client.get("/api/bursts").get_json() if b["id"] == burst_id)
        thumb = cv2.imdecode(np.frombuffer(client.get(f"/api/bursts/{burst_id}/thumbnail.jpg?v={version}").data,
                                           np.uint8), cv2.IMREAD_COLOR)
        return float(cv2.PSNR(thumb, cv2.resize(scene, (160, 96), interpolation=cv2.INTER_AREA)))

    before = thumbnail_psnr()  # the middle frame: both halves blurred
    job = wait_job(client, client.post(f"/api/bursts/{burst_id}/stack", json={"format": "jpeg"}).get_json()["job"])
    assert job["state"] == "done", job
    after = thumbnail_psnr()
    assert after > before + 3, (before, after)
