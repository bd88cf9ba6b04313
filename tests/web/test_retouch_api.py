"""Retouching through the REST API on a real burst: a stroke mends what a range stack left soft, undo gives the
stack back bit for bit, redo, strokes survive a new engine, the full-size export holds them, slabs are sources."""
from __future__ import annotations

import json
import time

import cv2
import numpy as np

from tether.burst import open_burst, store_derived_items


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
    assert stroke["source"] == {"kind": "frame", "number": 5} and stroke["brush"] == "sharpest"
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
    # the new engine has no focus index (the stack's was never stored): a brush that needs one starts its job
    sharpest = {"points": [[0.3, 0.5]], "radius": 0.05}
    waiting = again.post(f"/api/bursts/{burst_id}/retouch/strokes", json=sharpest)
    assert waiting.status_code == 409 and "being computed" in waiting.get_json()["error"]
    prepared = again.post(f"/api/bursts/{burst_id}/refocus-map").get_json()
    if not prepared["ready"]:
        assert wait_job(again, prepared["job"])["state"] == "done"
    assert again.post(f"/api/bursts/{burst_id}/retouch/strokes", json=sharpest).status_code == 201


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
    # the burst as the previous version left it: one stack's pictures under fixed names, a layer without prefix
    with open_burst(path) as reader:
        layer = json.loads(reader.derived("retouch.json"))
        named = [n for n in reader.derived_names() if n.startswith(layer["prefix"])]
        items = {n.replace(layer["prefix"], "retouch-"): reader.derived(n) for n in named}
    del layer["prefix"], layer["made"]
    store_derived_items(path, {**items, "retouch.json": json.dumps(layer).encode()}, drop=named)
    stacked = png(client, burst_id)
    assert client.post(f"/api/bursts/{burst_id}/retouch/strokes",
                       json={"points": [[0.8, 0.5]], "radius": 0.1}).status_code == 201
    retouched = png(client, burst_id)
    assert not np.array_equal(retouched, stacked)
    assert wait_job(client, client.post(f"/api/bursts/{burst_id}/stack", json={}).get_json()["job"])["state"] == "done"
    restored = client.post(f"/api/bursts/{burst_id}/retouch/restore", json={"stack": layer["stack"]})
    assert restored.status_code == 200 and len(restored.get_json()["strokes"]) == 1, restored.get_json()
    np.testing.assert_array_equal(png(client, burst_id), retouched)
