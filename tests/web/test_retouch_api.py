"""Retouching through the REST API on a real burst: a stroke mends what a range stack left soft, undo gives the
stack back bit for bit, redo, strokes survive a new engine, the full-size export holds them, slabs are sources."""
from __future__ import annotations

import io
import json
import time

import cv2
import numpy as np

from tether.burst import BurstWriter, FrameMeta, open_burst, store_derived_items


def wait_job(client, job_id: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while (job := client.get(f"/api/jobs/{job_id}").get_json())["state"] not in ("done", "error", "cancelled"):
        assert time.monotonic() < deadline, f"job {job_id} did not finish"
        time.sleep(0.05)
    return job


def png(client, burst_id: str) -> np.ndarray:
    response = client.get(f"/api/bursts/{burst_id}/retouch.png")
    assert response.status_code == 200, response.get_json()
    return cv2.imdecode(np.frombuffer(response.data, np.uint8), cv2.IMREAD_UNCHANGED)


def sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_32F).var())


def test_a_stroke_mends_a_soft_region_undo_redo_and_a_restart(client, focus_burst, app_factory) -> None:
    burst_id = focus_burst(6)  # left half sharp in frame 0, right half in frame 5
    nothing = client.get(f"/api/bursts/{burst_id}/retouch")  # nothing stacked yet: an empty answer, not an error
    assert (nothing.status_code, nothing.get_json()) == (200, None)
    assert client.get("/api/bursts/20200101-000000-000000/retouch").status_code == 404
    # frames 0-1 only: the right half is left soft, a region the stack got wrong
    job = wait_job(client, client.post(f"/api/bursts/{burst_id}/stack", json={"range": [0, 1], "format": "png"})
                   .get_json()["job"])
    assert job["state"] == "done" and not job["result"]["warnings"], job
    state = client.get(f"/api/bursts/{burst_id}/retouch").get_json()
    assert state["strokes"] == [] and state["size"] == [192, 128] and state["about"]["range"] == [0, 1]
    stacked = png(client, burst_id)
    right = (slice(40, 90), slice(130, 170))
    painted = client.post(f"/api/bursts/{burst_id}/retouch/strokes",
                          json={"points": [[0.72, 0.5], [0.85, 0.5]], "radius": 0.12, "hardness": 0.8})
    assert painted.status_code == 201, painted.get_json()
    stroke = painted.get_json()["strokes"][0]
    assert stroke["source"] == {"kind": "focus"} and stroke["brush"] == "sharpest"
    retouched = png(client, burst_id)
    assert sharpness(retouched[right]) > 2 * sharpness(stacked[right])
    np.testing.assert_array_equal(retouched[:, :100], stacked[:, :100])  # nothing changed outside the brush
    undone = client.post(f"/api/bursts/{burst_id}/retouch/undo").get_json()
    assert undone["strokes"] == [] and undone["undone"] == 1
    np.testing.assert_array_equal(png(client, burst_id), stacked)  # bit for bit
    assert client.post(f"/api/bursts/{burst_id}/retouch/undo").status_code == 400
    client.post(f"/api/bursts/{burst_id}/retouch/redo")
    np.testing.assert_array_equal(png(client, burst_id), retouched)
    # a new engine (a server restart) finds the strokes in the burst, and exports them at full size
    _, app = app_factory()
    again = app.test_client()
    assert again.get(f"/api/bursts/{burst_id}/retouch").get_json()["strokes"] == [stroke]
    np.testing.assert_array_equal(png(again, burst_id), retouched)
    job = wait_job(again, again.post(f"/api/bursts/{burst_id}/retouch/export", json={"format": "png"})
                   .get_json()["job"])
    assert job["state"] == "done" and job["result"]["strokes"] == 1, job
    exported = again.get(f"/api/exports/{job['result']['export']}")
    np.testing.assert_array_equal(cv2.imdecode(np.frombuffer(exported.data, np.uint8), cv2.IMREAD_UNCHANGED),
                                  retouched)
    # the new engine has no focus index (the stack's was never stored): the sharpest brush follows the maps kept
    # with the stack, the halo brush needs the index and starts its job
    sharpest = {"points": [[0.3, 0.5]], "radius": 0.05}
    assert again.post(f"/api/bursts/{burst_id}/retouch/strokes", json=sharpest).status_code == 201
    halo = {**sharpest, "brush": "halo"}
    waiting = again.post(f"/api/bursts/{burst_id}/retouch/strokes", json=halo)
    assert waiting.status_code == 409 and "being computed" in waiting.get_json()["error"]
    prepared = again.post(f"/api/bursts/{burst_id}/refocus-map").get_json()
    if not prepared["ready"]:
        assert wait_job(again, prepared["job"])["state"] == "done"
    assert again.post(f"/api/bursts/{burst_id}/retouch/strokes", json=halo).status_code == 201


def test_slabs_are_kept_and_painted_from_and_bad_strokes_refused(client, focus_burst) -> None:
    burst_id = focus_burst(8)
    job = wait_job(client, client.post(f"/api/bursts/{burst_id}/stack", json={"slabs": 2}).get_json()["job"])
    assert job["state"] == "done" and job["result"]["slabs"] == 2, job
    state = client.get(f"/api/bursts/{burst_id}/retouch").get_json()
    assert len(state["slabs"]) == 2 and state["slabs"][0][0] == 0 and state["slabs"][1][1] == 7
    before = png(client, burst_id)
    painted = client.post(f"/api/bursts/{burst_id}/retouch/strokes",
                          json={"points": [[0.2, 0.5]], "radius": 0.1, "brush": "chosen",
                                "source": {"kind": "slab", "number": 1}, "opacity": 1.0, "hardness": 1.0})
    assert painted.status_code == 201, painted.get_json()
    after = png(client, burst_id)
    assert sharpness(after[50:78, 30:48]) < sharpness(before[50:78, 30:48])  # the far slab: the left half soft
    chosen = {"points": [[0.2, 0.5]], "radius": 0.1, "brush": "chosen"}
    for body, status, says in (
            (chosen, 400, ""),
            ({**chosen, "source": {"kind": "slab", "number": 2}}, 404, ""),
            ({**chosen, "source": {"kind": "frame", "number": 99}}, 404,
             "frame index 99 is not one of the readable frames of this burst"),  # as the API counts, from 0
            ({"points": [[1.2, 0.5]], "radius": 0.1}, 400, ""), ({"points": [], "radius": 0.1}, 400, ""),
            ({"points": [[0.2, 0.5]], "radius": 0.1, "brush": "smudge"}, 400, ""),
            ({"points": [[0.2, 0.5]]}, 400, "")):
        refused = client.post(f"/api/bursts/{burst_id}/retouch/strokes", json=body)
        assert refused.status_code == status, (body, refused.get_json())
        assert says in refused.get_json()["error"]
    assert len(client.get(f"/api/bursts/{burst_id}/retouch").get_json()["strokes"]) == 1
    too_many = client.post(f"/api/bursts/{burst_id}/stack", json={"slabs": 1})
    assert too_many.status_code == 400


def test_stacking_again_keeps_the_strokes_as_an_earlier_stack_to_restore(client, focus_burst, engine) -> None:
    burst_id = focus_burst(6)

    def stack(**body: object) -> None:
        job = wait_job(client, client.post(f"/api/bursts/{burst_id}/stack", json={"format": "png", **body})
                       .get_json()["job"])
        assert job["state"] == "done", job

    stack(range=[0, 1])
    first = client.get(f"/api/bursts/{burst_id}/retouch").get_json()
    painted = client.post(f"/api/bursts/{burst_id}/retouch/strokes",
                          json={"points": [[0.72, 0.5], [0.85, 0.5]], "radius": 0.12})
    assert painted.status_code == 201, painted.get_json()
    retouched = png(client, burst_id)
    size = engine.store.burst_path(burst_id).stat().st_size
    stack()  # all frames, as another browser or a script would: the painted layer is kept, not replaced
    again = client.get(f"/api/bursts/{burst_id}/retouch").get_json()
    assert again["stack"] != first["stack"] and again["strokes"] == [] and again["about"]["range"] == [0, 5]
    assert again["earlier"] == [{"stack": first["stack"], "about": first["about"], "strokes": 1, "undone": 0}]
    # nothing full-size copied: the burst grew by the new stack's own picture, not by the earlier one again
    grown = engine.store.burst_path(burst_id).stat().st_size - size
    assert grown < 1.5 * len(client.get(f"/api/bursts/{burst_id}/retouch.png").data)
    stack()  # a stack without strokes is not kept: its picture is in exports/ already
    latest = client.get(f"/api/bursts/{burst_id}/retouch").get_json()
    assert [e["stack"] for e in latest["earlier"]] == [first["stack"]]
    with open_burst(engine.store.burst_path(burst_id)) as reader:  # nor are its pictures
        pictures = {name for name in reader.derived_names() if name.endswith(".png")}
    assert pictures == {f"retouch-{first['stack']}-base.png", f"retouch-{latest['stack']}-base.png"}
    restored = client.post(f"/api/bursts/{burst_id}/retouch/restore", json={"stack": first["stack"]})
    assert restored.status_code == 200, restored.get_json()
    state = restored.get_json()
    assert state["stack"] == first["stack"] and state["strokes"] == painted.get_json()["strokes"]
    assert [e["strokes"] for e in state["earlier"]] == [0]  # the stack painted until then is kept in its turn
    np.testing.assert_array_equal(png(client, burst_id), retouched)
    undone = client.post(f"/api/bursts/{burst_id}/retouch/undo").get_json()
    assert undone["strokes"] == [] and undone["undone"] == 1
    missing = client.post(f"/api/bursts/{burst_id}/retouch/restore", json={"stack": first["stack"]})
    assert missing.status_code == 404 and "no earlier stack" in missing.get_json()["error"]


def test_slabs_take_0_or_2_to_500_as_the_panel_does(client, focus_burst) -> None:
    burst_id = focus_burst(6)
    for slabs in (1, 501, 2.5, True):
        refused = client.post(f"/api/bursts/{burst_id}/stack", json={"slabs": slabs})
        assert refused.status_code == 400
        assert refused.get_json()["error"] == ("slabs must be 0 (all frames at once) or a whole number from 2 to 500, "
                                               f"not {slabs!r}")
    job = wait_job(client, client.post(f"/api/bursts/{burst_id}/stack", json={"slabs": 0}).get_json()["job"])
    assert job["state"] == "done" and job["result"]["slabs"] == 0, job
    page = client.get(f"/stack/{burst_id}").get_data(as_text=True)
    assert 'id="slabs" min="0" max="500"' in page


def test_a_layer_kept_before_stacks_were_named_is_painted_kept_and_restored(client, focus_burst, engine) -> None:
    burst_id = focus_burst(6)
    path = engine.store.burst_path(burst_id)
    assert wait_job(client, client.post(f"/api/bursts/{burst_id}/stack", json={"range": [0, 1]})
                    .get_json()["job"])["state"] == "done"
    # the burst as earlier versions left it: one stack's pictures under fixed names, a layer without prefix, no
    # focus maps, and a stroke of the sharpest brush as it was kept then: the one frame it copied
    with open_burst(path) as reader:
        layer = json.loads(reader.derived("retouch.json"))
        named = [n for n in reader.derived_names() if n.startswith(layer["prefix"])]
        items = {n.replace(layer["prefix"], "retouch-"): reader.derived(n) for n in named
                 if not n.endswith("focus.npz")}
        stacked = png(client, burst_id)
    del layer["prefix"], layer["made"]
    old = {"points": [[150.0, 30.0]], "radius": 12.0, "hardness": 1.0, "opacity": 1.0,
           "source": {"kind": "frame", "number": 5}, "brush": "sharpest"}
    layer["strokes"], layer["revision"] = [old], layer["revision"] + 1
    store_derived_items(path, {**items, "retouch.json": json.dumps(layer).encode()}, drop=named)
    replayed = png(client, burst_id)
    assert not np.array_equal(replayed[20:40, 140:160], stacked[20:40, 140:160])  # the old stroke replays
    np.testing.assert_array_equal(replayed[60:, :], stacked[60:, :])
    # a new stroke of the sharpest brush keeps the loaded focus index's maps with the layer, and follows them
    assert client.post(f"/api/bursts/{burst_id}/retouch/strokes",
                       json={"points": [[0.8, 0.7]], "radius": 0.1}).status_code == 201
    with open_burst(path) as reader:
        assert "retouch-focus.npz" in reader.derived_names()
    retouched = png(client, burst_id)
    assert sharpness(retouched[80:100, 145:165]) > 2 * sharpness(stacked[80:100, 145:165])
    assert wait_job(client, client.post(f"/api/bursts/{burst_id}/stack", json={}).get_json()["job"])["state"] == "done"
    restored = client.post(f"/api/bursts/{burst_id}/retouch/restore", json={"stack": layer["stack"]})
    assert restored.status_code == 200 and len(restored.get_json()["strokes"]) == 2, restored.get_json()
    np.testing.assert_array_equal(png(client, burst_id), retouched)


def test_a_wide_sharpest_brush_never_blurs_the_small_subject_it_is_painted_on(client, engine) -> None:
    """The trial's coin: a wide stroke of the sharpest brush centred on a small near subject. It used to copy one
    frame for the whole brush, the one most of it covers: the far background's, which blurred the subject."""
    burst_id, path = engine.store.new_burst_path()
    w, h, frames = 192, 128, 8
    rng = np.random.default_rng(3)
    texture = cv2.resize((rng.random((h // 2, w // 2, 3)) * 255).astype(np.uint8), (w, h),
                         interpolation=cv2.INTER_NEAREST)
    rows, cols = np.mgrid[:h, :w]
    coin = (np.hypot(rows - 64, cols - 60) < 18)[..., None]
    with BurstWriter.create(path, camera={"model": "Test rig"}, sweep={"mode": "liveview"}, fsync=False) as writer:
        for k in range(frames):  # the coin sharp in frame 0, the background in frame 7
            image = np.where(coin, cv2.GaussianBlur(texture, (0, 0), 0.3 + 1.2 * k),
                             cv2.GaussianBlur(texture, (0, 0), 0.3 + 1.2 * (frames - 1 - k)))
            _, data = cv2.imencode(".png", image)
            writer.append(data.tobytes(), FrameMeta(captured_at=time.time(), focus_position=20 * k))
    job = wait_job(client, client.post(f"/api/bursts/{burst_id}/stack", json={"format": "png"}).get_json()["job"])
    assert job["state"] == "done", job
    stacked = png(client, burst_id)
    on_coin = (slice(54, 74), slice(50, 70))
    background = (slice(20, 108), slice(120, 180))
    painted = client.post(f"/api/bursts/{burst_id}/retouch/strokes",
                          json={"points": [[60 / w, 0.5], [62 / w, 0.5]], "radius": 0.4, "hardness": 1.0})
    assert painted.status_code == 201, painted.get_json()
    retouched = png(client, burst_id)
    assert sharpness(retouched[on_coin]) >= 0.9 * sharpness(stacked[on_coin])  # it was sharp, and stays so
    assert sharpness(retouched[background]) >= 0.9 * sharpness(stacked[background])


def test_strokes_of_the_sharpest_brush_are_refused_when_its_focus_maps_are_gone_or_damaged(
        client, focus_burst, engine, app_factory) -> None:
    burst_id = focus_burst(6)
    path = engine.store.burst_path(burst_id)
    assert wait_job(client, client.post(f"/api/bursts/{burst_id}/stack", json={"range": [0, 1]})
                    .get_json()["job"])["state"] == "done"
    assert client.post(f"/api/bursts/{burst_id}/retouch/strokes",
                       json={"points": [[0.8, 0.5]], "radius": 0.1}).status_code == 201
    with open_burst(path) as reader:
        maps = next(n for n in reader.derived_names() if n.endswith("focus.npz"))
        kept = np.load(io.BytesIO(reader.derived(maps)))
        damaged = io.BytesIO()
        np.savez(damaged, **{**kept, "depth": kept["depth"][:, :2]})  # a map narrower than the picture's tiles
    store_derived_items(path, {maps: damaged.getvalue()})
    _, app = app_factory()  # (a new engine: the picture is replayed from the burst)
    refused = app.test_client().get(f"/api/bursts/{burst_id}/retouch.png")
    assert refused.status_code == 422 and "focus maps are damaged" in refused.get_json()["error"]
    store_derived_items(path, {}, drop=[maps])
    _, app = app_factory()
    refused = app.test_client().get(f"/api/bursts/{burst_id}/retouch.png")
    assert refused.status_code == 422
    assert refused.get_json()["error"] == ("the stack's focus maps are not in the burst: stack it again to replay "
                                           "its strokes")


def test_a_layer_without_focus_maps_refuses_the_sharpest_brush_once_the_frames_are_not_the_stacks(
        client, focus_burst, engine) -> None:
    burst_id = focus_burst(6)
    path = engine.store.burst_path(burst_id)
    assert wait_job(client, client.post(f"/api/bursts/{burst_id}/stack", json={})
                    .get_json()["job"])["state"] == "done"
    # a layer kept before stacks kept their maps, whose stack was made of other frames than the index loaded now
    with open_burst(path) as reader:
        maps = next(n for n in reader.derived_names() if n.endswith("focus.npz"))
        geometry = maps.replace("focus.npz", "geometry.npz")
        kept = np.load(io.BytesIO(reader.derived(geometry)))
        other = io.BytesIO()
        np.savez(other, **{**kept, "frames": kept["frames"] + 100})
    store_derived_items(path, {geometry: other.getvalue()}, drop=[maps])
    refused = client.post(f"/api/bursts/{burst_id}/retouch/strokes", json={"points": [[0.8, 0.5]], "radius": 0.1})
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "the burst's frames are not those this stack was made of: stack it again"
    with open_burst(path) as reader:
        assert maps not in reader.derived_names()  # (nothing kept for it)
