"""Errors as HTTP answers: the status says what kind of trouble it is, the body is one line without server paths."""
from __future__ import annotations

import pytest

from tether.burst import BurstBusy, CorruptBurst
from tether.camera.errors import (
    CameraBusy,
    CameraDisconnected,
    CameraNotFound,
    DriverCrashed,
    InvalidValue,
    Unsupported,
)
from tether.engine.ids import UnknownId
from tether.errors import NotReady, TetherError
from tether.fileio import StorageError
from tether.imaging import ImagingError, TooFewFrames
from tether.web.errors import BadRequest, status_for


@pytest.mark.parametrize(("error", "status"), [
    (BadRequest("bad field"), 400),
    (InvalidValue("iso 7"), 400),
    (UnknownId("no burst"), 404),
    (CameraNotFound("no camera"), 404),
    (CameraBusy("sweeping"), 409),
    (BurstBusy("being written"), 409),
    (NotReady("refocus map"), 409),
    (Unsupported("no live view"), 422),
    (CorruptBurst("damaged"), 422),
    (ImagingError("cannot encode"), 422),
    (TooFewFrames("one frame"), 422),
    (CameraDisconnected("unplugged"), 503),
    (DriverCrashed("segfault"), 503),
    (StorageError("disk full"), 507),
])
def test_each_kind_of_error_has_its_status(error: TetherError, status: int) -> None:
    assert status_for(error) == status


def test_a_burst_being_written_answers_409(client, burst, engine) -> None:
    burst_id = burst(3)
    engine.bursts.writing.add(burst_id)  # what a running sweep does
    answers = [
        client.delete(f"/api/bursts/{burst_id}"),
        client.post(f"/api/bursts/{burst_id}/export", json={"format": "zip"}),
        client.post(f"/api/bursts/{burst_id}/stack", json={}),
        client.post(f"/api/bursts/{burst_id}/refocus-map"),
    ]
    assert [a.status_code for a in answers] == [409] * 4
    assert all(a.get_json()["kind"] == "BurstBusy" and "being written" in a.get_json()["error"] for a in answers)
    engine.bursts.writing.discard(burst_id)
    assert client.delete(f"/api/bursts/{burst_id}").status_code == 200


def test_a_frame_that_cannot_be_encoded_is_not_a_missing_frame(client, burst, monkeypatch) -> None:
    burst_id = burst(3)
    monkeypatch.setattr("tether.engine.browser_jpeg.cv2.imencode", lambda *args: (False, None))
    answer = client.get(f"/api/bursts/{burst_id}/frames/1.jpg?reduce=2")
    assert answer.status_code == 422
    assert answer.get_json()["error"] == f"frame 2 of burst {burst_id} cannot be encoded as JPEG"  # counted from 1
    assert client.get(f"/api/bursts/{burst_id}/frames/9.jpg").status_code == 404


def test_error_answers_are_one_line_without_server_paths(client, engine) -> None:
    damaged = engine.store.bursts_dir / "20260101-000000-abcdef.burst"
    damaged.write_bytes(b"not a zip\nat all")
    answer = client.get("/api/bursts/20260101-000000-abcdef")
    body = answer.get_json()
    assert answer.status_code == 422 and body["kind"] == "CorruptBurst"
    assert "bursts/20260101-000000-abcdef.burst" in body["error"]
    text = body["error"] + body["hint"]
    assert str(engine.store.root) not in text and "\n" not in text
