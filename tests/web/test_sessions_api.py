"""Sessions through the REST API: create and choose one, name captures with the barcode typed in, see the
stills with their EXIF, title and note a burst, filter and search the gallery; every name a request
gives is checked, and no answer names a place on the server."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.web.conftest import make_settings
from tether.config import Settings
from tether.web import socketio


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    """Small stills: what is tested is where they go and what is said about them, not their pixels."""
    return make_settings(data_dir).with_overrides({"sim": {"still_width": 640, "still_height": 480}})


@pytest.fixture
def started(engine):  # type: ignore[no-untyped-def]
    engine.start()
    assert engine.owner_for().frames.wait_next(0, 20) is not None
    return engine


def test_a_session_names_stills_with_the_scanned_code_and_shows_their_exif(app, client, started,
                                                                             data_dir: Path) -> None:
    watcher = socketio.test_client(app)
    made = client.post("/api/sessions", json={"name": "Acme spring", "client": "Acme",
                                              "template": "{session}-{subject}-{seq:03}"})
    assert made.status_code == 201, made.get_json()
    assert client.get("/api/sessions").get_json()["current"] == "Acme-spring"
    # a scanner types the code and Enter; the panel sends it as the session's subject
    assert client.patch("/api/sessions/Acme-spring", json={"subject": "4006381333931"}).status_code == 200
    names = [client.post("/api/cameras/sim:macro/capture").get_json()["name"] for _ in range(2)]
    assert names == ["Acme-spring-4006381333931-001.JPG", "Acme-spring-4006381333931-002.JPG"]
    stills = client.get("/api/sessions/Acme-spring/stills").get_json()
    assert {s["name"] for s in stills} == set(names)
    assert stills[0]["exif"] == {"exposure": "1/125 s", "iso": "200", "aperture": "f/2.8"}
    preview = client.get(f"/api/stills/{stills[0]['still']}/preview.jpg")
    assert preview.status_code == 200 and preview.data[:2] == b"\xff\xd8"
    download = client.get(f"/api/exports/{stills[0]['still']}")
    assert download.status_code == 200 and download.data[:2] == b"\xff\xd8"
    events = [m["args"][0] for m in watcher.get_received() if m["name"] == "event"]
    assert [e["session"]["id"] for e in events if e["type"] == "session.changed"][:1] == ["Acme-spring"]
    added = [e for e in events if e["type"] == "still.added"]
    assert [e["name"] for e in added] == names and added[0]["exif"]["iso"] == "200"
    everything = json.dumps([events, stills, client.get("/api/state").get_json()])
    assert str(data_dir) not in everything
    watcher.disconnect()


def test_bursts_are_titled_noted_filtered_and_searched(client, engine, burst) -> None:
    old = burst()  # from before sessions
    client.post("/api/sessions", json={"name": "Insects", "template": "bug-{seq:02}"})
    new = burst()
    assert new == "bug-01"
    notes = "Hoverfly\nstacked later at Café Müller"
    titled = client.patch(f"/api/bursts/{new}", json={"title": "Fly, left eye", "notes": notes})
    assert titled.status_code == 200
    assert (titled.get_json()["title"], titled.get_json()["session"]) == ("Fly, left eye", "Insects")
    # kept in the burst file itself: a fresh server reads them back
    engine.bursts._summaries.clear()
    assert engine.bursts.summary(new)["notes"] == notes

    def ids(**query: str) -> list[str]:
        return [b["id"] for b in client.get("/api/bursts", query_string=query).get_json()]

    assert sorted(ids()) == sorted([old, new])
    assert ids(session="Insects") == [new] and ids(session="default") == [old]
    assert ids(q="hoverfly") == [new] and ids(q="LEFT eye") == [new] and ids(q="bug-01") == [new]
    assert ids(q="beetle") == [] and ids(session="Insects", q=old) == []
    # typed as a person types it, without the accents (or with them)
    assert ids(q="cafe muller") == [new] and ids(q="CAFÉ") == [new]


@pytest.mark.parametrize("method, url, body", [
    ("get", "/api/sessions/..", None),
    ("get", "/api/sessions/%2e%2e%2fetc", None),
    ("post", "/api/sessions/..%2f..%2f/use", None),
    ("get", "/api/sessions/a.b/stills", None),
    ("get", "/api/stills/..%2fsessions%2f.current/preview.jpg", None),
    ("get", "/api/bursts", {"session": "../../etc"}),
    ("patch", "/api/bursts/..%2f.current", {"title": "x"}),
])
def test_names_from_requests_never_leave_the_data_dir(client, method: str, url: str, body: dict | None,
                                                     data_dir: Path) -> None:
    answer = client.get(url, query_string=body) if method == "get" else getattr(client, method)(url, json=body)
    assert answer.status_code in (400, 404), (url, answer.status_code)
    assert str(data_dir) not in answer.get_data(as_text=True)


def test_bad_sessions_are_refused_with_the_reason(client) -> None:
    bad = client.post("/api/sessions", json={"name": "Shoot", "template": "{session}/{seq}"})
    assert bad.status_code == 400 and "outside the session" in bad.get_json()["error"]
    unknown = client.post("/api/sessions", json={"name": "Shoot", "template": "{sku}-{seq}"})
    assert unknown.status_code == 400 and "{sku}" in unknown.get_json()["error"]
    assert client.post("/api/sessions", json={"name": "Shoot"}).status_code == 201
    again = client.post("/api/sessions", json={"name": "Shoot"})
    assert again.status_code == 400 and "exists already" in again.get_json()["error"]
    assert client.patch("/api/sessions/Shoot", json={"seq": 1}).status_code == 400  # the counter is the server's
    assert client.patch("/api/sessions/default", json={"notes": "x"}).status_code == 400


def test_the_next_name_is_what_the_next_capture_gets_and_reserves_nothing(client, started, data_dir: Path) -> None:
    assert client.get("/api/sessions/default/next-name").get_json() == {"name": None}
    assert client.get("/api/sessions/no-such-session/next-name").status_code == 404
    client.post("/api/sessions", json={"name": "Shop", "template": "{camera}-{seq:02}"})
    asked = [client.get("/api/sessions/Shop/next-name?camera=sim:macro").get_json()["name"] for _ in range(2)]
    assert asked[0] == asked[1]  # asking does not move the counter
    assert client.post("/api/cameras/sim:macro/capture").get_json()["name"].rsplit(".", 1)[0] == asked[0]
    assert client.get("/api/sessions/Shop/next-name?camera=sim:macro").get_json()["name"] != asked[0]
    # a name some file has already is skipped by the capture, so the hint skips it too
    taken = client.get("/api/sessions/Shop/next-name?camera=sim:macro").get_json()["name"]
    (data_dir / "exports" / f"{taken}.zip").parent.mkdir(exist_ok=True)
    (data_dir / "exports" / f"{taken}.zip").write_bytes(b"x")
    following = client.get("/api/sessions/Shop/next-name?camera=sim:macro").get_json()["name"]
    assert following != taken
    assert client.post("/api/cameras/sim:macro/capture").get_json()["name"].rsplit(".", 1)[0] == following
