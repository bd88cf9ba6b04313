"""Requests are checked before any work starts: bodies of endpoints without options, control characters in
names, a frame the burst does not have; and what is refused says so in words that cannot be misread."""
from __future__ import annotations

from tests.web.test_imaging_api import wait_job

BAD_BODIES = [
    ("{", "the body is not valid JSON"),
    ("null", "the body must be a JSON object"),
    ('{"evil": 1}', "unknown request option 'evil'"),
]


def test_endpoints_without_options_refuse_any_body(client, focus_burst) -> None:
    burst_id = focus_burst(6)
    assert wait_job(client, client.post(f"/api/bursts/{burst_id}/refocus-map").get_json()["job"])["state"] == "done"
    session = client.post("/api/sessions", json={"name": "Checks", "use": False}).get_json()["id"]
    jobs = client.get("/api/jobs").get_json()
    urls = (f"/api/bursts/{burst_id}/living", f"/api/bursts/{burst_id}/refocus-map", f"/api/sessions/{session}/use")
    for url in urls:
        for body, error in BAD_BODIES:
            answer = client.post(url, data=body, content_type="application/json")
            assert answer.status_code == 400 and error in answer.get_json()["error"], (url, body, answer.get_json())
    assert client.get("/api/jobs").get_json() == jobs  # none was started
    made = client.post(f"/api/bursts/{burst_id}/living")  # no body: as the panel sends it
    assert made.status_code == 202 and wait_job(client, made.get_json()["job"], 60)["state"] == "done"


def test_a_null_body_is_refused_as_not_an_object(client) -> None:
    answer = client.post("/api/plan", data="null", content_type="application/json")
    assert answer.status_code == 400 and answer.get_json()["error"] == "the body must be a JSON object"


def test_names_refuse_control_characters_and_notes_keep_their_lines(client, burst) -> None:
    burst_id = burst(3)
    refused = client.patch(f"/api/bursts/{burst_id}", json={"title": "Watch\x00dial"})
    assert refused.status_code == 400
    assert refused.get_json()["error"] == ("title must be text without control characters or line breaks, "
                                           "not one with '\\x00'")
    assert client.patch(f"/api/bursts/{burst_id}", json={"title": "two\nlines"}).status_code == 400
    assert client.get(f"/api/bursts/{burst_id}").get_json()["title"] == ""
    kept = client.patch(f"/api/bursts/{burst_id}", json={"title": "Watch, dial", "notes": "first\n\tsecond"})
    assert kept.status_code == 200 and kept.get_json()["notes"] == "first\n\tsecond"
    assert client.patch(f"/api/bursts/{burst_id}", json={"notes": "bell\x07"}).status_code == 400
    session = client.post("/api/sessions", json={"name": "Labels", "use": False}).get_json()["id"]
    subject = client.patch(f"/api/sessions/{session}", json={"subject": "A\x00B"})
    assert subject.status_code == 400
    assert "subject must be text without control characters" in subject.get_json()["error"]
    assert client.get(f"/api/sessions/{session}").get_json().get("subject", "") == ""


def test_saving_a_frame_the_burst_does_not_have_is_refused_at_once(client, burst) -> None:
    burst_id = burst(6)
    answer = client.post(f"/api/bursts/{burst_id}/save-frame", json={"frame": 99})
    assert answer.status_code == 404
    assert answer.get_json()["error"] == f"burst {burst_id} has no frame index 99 (indices go from 0 to 5)"
    assert client.get("/api/jobs").get_json() == []  # no job was started to fail later
    saved = client.post(f"/api/bursts/{burst_id}/save-frame", json={"frame": 5})
    assert saved.status_code == 202 and wait_job(client, saved.get_json()["job"])["state"] == "done"


def test_a_reshoot_after_the_last_frame_says_both_numberings(client, focus_burst) -> None:
    burst_id = focus_burst(6)
    answer = client.post(f"/api/bursts/{burst_id}/reshoot", json={"after": 5})
    assert answer.status_code == 400
    assert answer.get_json()["error"] == ("there is no gap after frame 6 (frame index 5): the burst's 6 frames have "
                                          "gaps after frames 1 to 5 (frame indices 0 to 4)")
