"""The Depth page's API and the living picture on a real burst of known depth: previews follow the aperture, a
depth selection acts only on its range, settings are kept in the burst, exports are full size."""
from __future__ import annotations

import json
import re
import time

import cv2
import numpy as np
import pytest

from tether.burst import BurstWriter, FrameMeta, open_burst
from tether.engine import Engine
from tether.engine.depth import DEPTH_EDIT_NAME
from tether.engine.living import MAX_BYTES
from tether.web import create_app
from tether.web.app import shutdown_app

W, H, FRAMES = 240, 160, 12
#: Three upright bands, near to far: their sharpest frames.
BANDS = ((0, 80, 1.0), (80, 160, 6.0), (160, 240, 10.0))


def write_depth_burst(engine: Engine) -> str:
    """A burst whose left band is sharp in frame 1, the middle in frame 6 and the right in frame 10."""
    burst_id, path = engine.store.new_burst_path()
    rng = np.random.default_rng(11)
    texture = cv2.resize((rng.random((H // 2, W // 2, 3)) * 255).astype(np.uint8), (W, H),
                         interpolation=cv2.INTER_NEAREST)
    with BurstWriter.create(path, camera={"model": "Test rig"}, sweep={"mode": "liveview"}, fsync=False) as writer:
        for k in range(FRAMES):
            image = texture.copy()
            for x0, x1, depth in BANDS:
                sigma = 0.3 + 0.9 * abs(depth - k)
                image[:, x0:x1] = cv2.GaussianBlur(texture, (0, 0), sigma)[:, x0:x1]
            _, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
            writer.append(data.tobytes(), FrameMeta(captured_at=time.time(), focus_position=10 * k,
                                                    exposure={"f_number": 4}))
    return burst_id


def wait_job(client, job_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while (job := client.get(f"/api/jobs/{job_id}").get_json())["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, f"job {job_id} did not finish"
        time.sleep(0.05)
    assert job["state"] == "done", job
    return job


@pytest.fixture
def ready(client, engine) -> str:
    burst_id = write_depth_burst(engine)
    assert client.get(f"/api/bursts/{burst_id}/depth").status_code == 409  # no refocus map yet
    wait_job(client, client.post(f"/api/bursts/{burst_id}/refocus-map").get_json()["job"])
    return burst_id


def preview(client, burst_id: str, **settings: object) -> np.ndarray:
    answer = client.post(f"/api/bursts/{burst_id}/depth/preview", json=settings)
    assert answer.status_code == 200, answer.get_json()
    assert answer.mimetype == "image/jpeg" and "render;dur=" in answer.headers["Server-Timing"]
    return cv2.imdecode(np.frombuffer(answer.data, np.uint8), cv2.IMREAD_COLOR)


def detail(image: np.ndarray, x0: int, x1: int, *, scale: int = 1) -> float:
    """Variance of the Laplacian inside a band (away from its edges), on the picture shrunk by ``scale``
    (large blurs differ at a coarse scale, when the finest detail is gone from both): how sharp it is."""
    grey = cv2.cvtColor(image[10:-10, x0 + 12:x1 - 12], cv2.COLOR_BGR2GRAY).astype(np.float32)
    if scale > 1:
        grey = cv2.resize(grey, (grey.shape[1] // scale, grey.shape[0] // scale), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def test_the_background_blurs_more_as_the_f_number_gets_smaller(client, ready) -> None:
    info = client.get(f"/api/bursts/{ready}/depth").get_json()
    assert info["captured_f_number"] == 4 and info["frames"] == FRAMES and info["width"] == W
    middle = {"focus": [0.5, 0.5]}  # the middle band: frame 6
    shot, wide, wider = (preview(client, ready, **middle, f_number=f) for f in (4, 2, 0.9))
    for x0, x1, _ in (BANDS[0], BANDS[2]):  # in front and behind, the blur grows as the aperture opens
        assert detail(shot, x0, x1, scale=4) > 1.3 * detail(wide, x0, x1, scale=4) > 0
        assert detail(wide, x0, x1, scale=4) > detail(wider, x0, x1, scale=4)
    # the point focused on stays sharp whatever the aperture
    assert detail(wider, 80, 160) > 0.8 * detail(shot, 80, 160)
    sharp = preview(client, ready)  # no focus point: every band from its own sharpest frame
    assert all(detail(sharp, x0, x1) > 0.6 * detail(shot, 80, 160) for x0, x1, _ in BANDS)


def test_a_depth_selection_changes_only_its_range(client, ready) -> None:
    plain = preview(client, ready, focus=[0.5, 0.5]).astype(int)
    lit = preview(client, ready, focus=[0.5, 0.5], near=5, far=7, feather=0.5, target="subject",
                  brightness=1).astype(int)
    change = np.abs(lit - plain).mean(axis=2)
    middle = change[:, 96:144]  # inside the middle band, clear of the depth map's soft edges
    outside = np.concatenate([change[:, :56], change[:, 184:]], axis=1)
    assert middle.mean() > 40 and outside.max() <= 2, (middle.mean(), outside.max())


def test_settings_are_kept_in_the_burst_and_survive_a_restart(client, ready, settings) -> None:
    chosen = {"focus": [0.25, 0.5], "f_number": 1.4, "near": 0, "far": 3, "target": "background", "blur": 0.01}
    assert client.put(f"/api/bursts/{ready}/depth/settings", json=chosen).status_code == 200
    refused = client.put(f"/api/bursts/{ready}/depth/settings", json={"near": 3, "far": 1})
    assert refused.status_code == 400 and "near" in refused.get_json()["error"]
    engine = Engine(settings, camera_id="sim:macro", simulated=True)
    app = create_app(engine, settings)
    try:
        stored = app.test_client().get(f"/api/bursts/{ready}/depth").get_json()["settings"]
    finally:
        shutdown_app(app)
        engine.close()
    assert {k: stored[k] for k in chosen} == chosen
    with open_burst(engine.store.burst_path(ready)) as reader:
        assert json.loads(reader.derived(DEPTH_EDIT_NAME))["f_number"] == 1.4


@pytest.mark.parametrize("fmt,suffix,dtype", [("jpeg", ".jpg", np.uint8), ("tiff", ".tif", np.uint16)])
def test_the_export_is_full_size_with_the_stored_settings(client, ready, fmt, suffix, dtype) -> None:
    client.put(f"/api/bursts/{ready}/depth/settings",
               json={"focus": [0.15, 0.5], "near": 8, "far": 12, "target": "subject", "desaturate": 1, "feather": 0})
    job = wait_job(client, client.post(f"/api/bursts/{ready}/depth/export", json={"format": fmt}).get_json()["job"])
    assert job["result"]["name"].endswith(suffix)
    data = client.get(f"/api/exports/{job['result']['export']}").data
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image.shape == (H, W, 3) and image.dtype == dtype
    far = image[20:-20, 190:230].astype(float)
    assert np.ptp(far, axis=2).max() <= (2 if fmt == "jpeg" else 2 * 257)  # the far band desaturated: grey
    assert np.ptp(image[20:-20, 10:60].astype(float), axis=2).mean() > 10 * (257 if fmt == "tiff" else 1)


def test_the_living_picture_is_estimated_then_made_self_contained(client, ready) -> None:
    plan = client.get(f"/api/bursts/{ready}/living").get_json()
    assert plan["frames"] == FRAMES and (plan["width"], plan["height"]) == (W, H) and plan["max_bytes"] == MAX_BYTES
    job = wait_job(client, client.post(f"/api/bursts/{ready}/living").get_json()["job"])
    page = client.get(f"/api/exports/{job['result']['export']}").data
    assert job["result"]["name"].endswith(".html") and 0.7 * plan["estimate"] < len(page) < 1.3 * plan["estimate"]
    text = page.decode("utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", text) and "<script src" not in text
    data = json.loads(re.search(r'<script id="living-data" type="application/json">(.*?)</script>', text, re.S)[1])
    assert len(data["frames"]) == FRAMES and all(f.startswith("data:image/") for f in [*data["frames"], data["stack"]])


def test_export_living_from_the_command_line(engine, run_tether, tmp_path) -> None:
    path = engine.store.burst_path(write_depth_burst(engine))
    out = tmp_path / "sweep.html"
    result = run_tether("export-living", str(path), "--out", str(out), check=True)
    assert result.stdout.startswith(f"wrote {out} (") and f"{FRAMES} frames at {W}x{H}" in result.stdout
    assert out.read_bytes().startswith(b"<!doctype html>") and out.stat().st_size <= MAX_BYTES
    refused = run_tether("export-living", str(path), "--out", str(tmp_path / "sweep.jpg"))
    assert refused.returncode == 2 and "a living picture is an .html file" in refused.stderr


def test_the_selection_can_be_shown_tinted_on_the_preview(client, ready) -> None:
    chosen = {"near": 5, "far": 7, "feather": 0.5}
    plain = preview(client, ready, **chosen).astype(int)
    answer = client.post(f"/api/bursts/{ready}/depth/preview?show=selection", json=chosen)
    shown = cv2.imdecode(np.frombuffer(answer.data, np.uint8), cv2.IMREAD_COLOR).astype(int)
    change = np.abs(shown - plain).mean(axis=2)
    assert change[:, 96:144].mean() > 20 and np.concatenate([change[:, :56], change[:, 184:]], axis=1).max() <= 2
    assert client.post(f"/api/bursts/{ready}/depth/preview?show=all", json=chosen).status_code == 400


def test_the_full_size_export_selects_a_round_subject_round(client, engine) -> None:
    """The trial's coin: a round subject, selected by its depth, its background made grey; the export's border
    between colour and grey follows the coin's outline, not the focus index's tiles."""
    burst_id, path = engine.store.new_burst_path()
    h, w = 240, 320
    rows, cols = np.mgrid[:h, :w]
    coin = np.hypot(rows - 121.4, cols - 158.6) < 71.5
    rng = np.random.default_rng(4)
    texture = cv2.GaussianBlur(rng.normal(0, 25, (h, w, 3)).astype(np.float32), (0, 0), 1.2)
    sharp = np.clip(np.where(coin[..., None], np.float32([40, 150, 200]), np.float32([120, 130, 90])) + texture,
                    0, 255).astype(np.uint8)
    with BurstWriter.create(path, camera={"model": "Test rig"}, sweep={"mode": "liveview"}, fsync=False) as writer:
        for k in range(FRAMES):
            ground = cv2.GaussianBlur(sharp, (0, 0), 0.3 + 0.9 * abs(10 - k))
            near = cv2.GaussianBlur(sharp, (0, 0), 0.3 + 0.9 * abs(1 - k))
            soft = cv2.GaussianBlur(coin.astype(np.float32), (0, 0), 0.3 + 0.9 * abs(1 - k))[..., None]
            image = np.clip(soft * near + (1 - soft) * ground, 0, 255).astype(np.uint8)
            _, data = cv2.imencode(".png", image)
            writer.append(data.tobytes(), FrameMeta(captured_at=time.time(), focus_position=10 * k,
                                                    exposure={"f_number": 4}))
    wait_job(client, client.post(f"/api/bursts/{burst_id}/refocus-map").get_json()["job"])
    client.put(f"/api/bursts/{burst_id}/depth/settings",
               json={"near": 0, "far": 2.5, "target": "background", "desaturate": 1})
    job = wait_job(client, client.post(f"/api/bursts/{burst_id}/depth/export", json={"format": "png"})
                   .get_json()["job"])
    image = cv2.imdecode(np.frombuffer(client.get(f"/api/exports/{job['result']['export']}").data, np.uint8),
                         cv2.IMREAD_COLOR).astype(float)
    coloured = (image.max(axis=2) - image.min(axis=2)) > 25  # the coin kept its colour, the ground is grey
    square = np.ones((3, 3), np.uint8)
    border = cv2.morphologyEx(coloured.astype(np.uint8), cv2.MORPH_GRADIENT, square) > 0
    outline = cv2.morphologyEx(coin.astype(np.uint8), cv2.MORPH_GRADIENT, square) > 0
    off = cv2.distanceTransform((~outline).astype(np.uint8), cv2.DIST_L2, 5)[border]
    assert off.mean() < 1.0 and off.max() <= 3, (off.mean(), off.max())
