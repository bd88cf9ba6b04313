"""The exports list and deleting an export, through the REST API: the list holds what the user exported, not
the JPEGs the panel makes for itself; a delete removes one export of the data dir, named by its id only."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.test_imaging_api import wait_job
from tests.web.test_socketio import _events


def stack_tiff(client, burst_id: str) -> dict:
    job = wait_job(client, client.post(f"/api/bursts/{burst_id}/stack", json={"format": "tiff"}).get_json()["job"])
    assert job["state"] == "done", job
    return job["result"]


def listed(client) -> dict[str, str]:
    return {e["id"]: e["name"] for e in client.get("/api/exports").get_json()}


def test_the_list_leaves_out_the_stack_preview_the_page_shows(client, focus_burst) -> None:
    result = stack_tiff(client, focus_burst(4))
    assert result["preview"] != result["export"]
    assert client.get(f"/api/exports/{result['preview']}?inline=1").status_code == 200  # the page still shows it
    assert set(listed(client)) == {result["export"]}, listed(client)


def test_an_export_is_deleted_and_every_panel_is_told(client, sio, burst, data_dir: Path) -> None:
    burst_id = burst(3)
    job = wait_job(client, client.post(f"/api/bursts/{burst_id}/save-frame", json={"frame": 0}).get_json()["job"])
    export_id = job["result"]["export"]
    assert export_id in listed(client)
    sio.get_received()
    answer = client.delete(f"/api/exports/{export_id}")
    assert answer.status_code == 200 and answer.get_json() == {"deleted": export_id}
    assert export_id not in listed(client)
    assert client.get(f"/api/exports/{export_id}").status_code == 404
    assert not list((data_dir / "exports").glob(f"{export_id}.*"))
    deleted = [e for e in _events(sio, lambda got: any(e["type"] == "export.deleted" for e in got))
               if e["type"] == "export.deleted"]
    assert [e["export"] for e in deleted] == [export_id]
    assert burst_id in {b["id"] for b in client.get("/api/bursts").get_json()}  # the burst itself stays


@pytest.mark.parametrize("name", ["no-such-export", "..", "%2E%2E%2Fconfig", "..%2F..%2Fetc%2Fpasswd", "a.b",
                                  "x" * 300])
def test_deleting_what_is_no_export_is_a_clear_4xx_without_a_path(client, focus_burst, data_dir: Path,
                                                                  name: str) -> None:
    kept = stack_tiff(client, focus_burst(4)) if name == "no-such-export" else None
    before = sorted(p.name for p in data_dir.rglob("*"))
    answer = client.delete(f"/api/exports/{name}")
    assert 400 <= answer.status_code < 500, answer.status_code
    body = answer.get_data(as_text=True)
    assert str(data_dir) not in body and "/tmp" not in body and "Traceback" not in body
    if answer.is_json:
        assert answer.get_json()["error"]
    assert sorted(p.name for p in data_dir.rglob("*")) == before
    if kept:  # the panel's own preview is not something to delete through the exports list either
        refused = client.delete(f"/api/exports/{kept['preview']}")
        assert refused.status_code == 404 and str(data_dir) not in refused.get_data(as_text=True)
