"""No API answer names a place on the server: not the data folder, not any absolute path.

A burst imported with the real CLI from a folder of JPEGs, a sweep-like burst, its refocus map, a stack
and an export are made; then every JSON endpoint of the API (every GET rule of the app, with each burst,
export, job and camera filled in) and the Socket.IO snapshot are walked, and every string in them checked.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

#: Answers that are pictures, movies or files, not JSON.
_NOT_JSON = re.compile(r"\.(jpg|png|mjpg)$|/download$|^/api/exports/<")


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def leaks(answer: Any, data_dir: Path) -> list[str]:
    """The strings of ``answer`` that name the data folder or start with an absolute path (not a URL of the API)."""
    return [s for s in strings(answer)
            if str(data_dir) in s or str(data_dir.resolve()) in s
            or (s.startswith("/") and not s.startswith(("/api/", "/vendor/", "/static/")))]


def wait(client, job: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    for _ in range(600):
        state: dict[str, Any] = client.get(f"/api/jobs/{job}").get_json()
        if state["state"] not in ("queued", "running"):
            return state
        time.sleep(0.05)
    raise AssertionError(f"job {job} did not end: {state}")


def test_no_answer_names_a_server_path(run_tether, client, app, sio, engine, focus_burst, data_dir: Path,
                                       tmp_path: Path) -> None:
    folder = tmp_path / "fly"
    folder.mkdir()
    for n in range(3):
        image = np.random.default_rng(n).integers(0, 255, (48, 64, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f"fly{n}.jpg"), image)
    imported = data_dir / "bursts" / "imported.burst"
    run_tether("burst", "import", str(folder), "--out", str(imported), check=True)
    stored = json.loads(run_tether("burst", "info", "--json", str(imported), check=True).stdout)
    assert stored["sweep"]["source"] == "fly"  # the folder's name: the file itself keeps no path either

    swept = focus_burst()
    jobs = [client.post(f"/api/bursts/{swept}/{what}", json=body).get_json()["job"]
            for what, body in (("refocus-map", {}), ("stack", {}), ("export", {"format": "zip"}))]
    jobs.append(client.post("/api/bursts/imported/export", json={"format": "mp4"}).get_json()["job"])
    assert [wait(client, job)["state"] for job in jobs] == ["done"] * 4

    fill = {"burst_id": ["imported", swept], "job_id": jobs, "camera_id": ["sim:macro"], "session_id": ["default"]}
    walked: dict[str, Any] = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or not rule.rule.startswith("/api/") or _NOT_JSON.search(rule.rule):
            continue
        urls = [rule.rule]
        for name in rule.arguments:
            urls = [re.sub(rf"<(\w+:)?{name}>", value, url) for url in urls for value in fill[name]]
        for url in urls:
            answer = client.get(url, query_string={"x": 0.5, "y": 0.5})
            assert answer.is_json, url
            walked[url] = answer.get_json()
    assert {"/api/bursts", "/api/bursts/imported", "/api/jobs", "/api/state", "/api/exports"} <= set(walked)
    assert walked["/api/bursts/imported"]["sweep"]["source"] == "fly"
    received = sio.get_received()
    assert received[0]["name"] == "snapshot"
    walked["socket.io"] = [event["args"] for event in received]  # the snapshot, then events
    found = {url: leaks(answer, data_dir) for url, answer in walked.items()}
    assert {url: bad for url, bad in found.items() if bad} == {}
