"""Access control: loopback Host names, the token on pages, REST, MJPEG and Socket.IO, cross-origin refusal."""
from __future__ import annotations

import pytest

from tether.config import is_loopback_host
from tether.web import socketio
from tether.web.security import AccessPolicy

TOKEN = "s3cret-token-for-tests"


def test_only_loopback_names_skip_the_token() -> None:
    assert is_loopback_host("127.0.0.1") and is_loopback_host("::1") and is_loopback_host("localhost")
    for host in ("0.0.0.0", "127.0.0.2", "192.168.1.5", "::"):
        assert not is_loopback_host(host)
    assert AccessPolicy.for_bind("127.0.0.1", 8420, "").token == ""
    assert AccessPolicy.for_bind("0.0.0.0", 8420, TOKEN).token == TOKEN


def test_loopback_refuses_foreign_host_header(client) -> None:  # DNS rebinding
    assert client.get("/api/state").status_code == 200
    assert client.get("/api/state", headers={"Host": "localhost:8420"}).status_code == 200
    refused = client.get("/api/state", headers={"Host": "evil.example:8420"})
    assert refused.status_code == 403
    assert "not this server's name" in refused.get_json()["error"]


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
])
def test_cross_origin_requests_are_refused(client, headers) -> None:
    response = client.post("/api/cameras/refresh", headers=headers)
    assert response.status_code == 403
    assert "cross-" in response.get_json()["error"]
    # the live view cannot be embedded by another site either
    assert client.get("/api/cameras/sim:macro/live.mjpg", headers=headers).status_code == 403


def test_same_origin_request_passes(client, burst) -> None:
    burst_id = burst()
    response = client.delete(f"/api/bursts/{burst_id}",
                             headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 200


def test_token_required_beyond_loopback(app_factory) -> None:
    _, app = app_factory(host="0.0.0.0", token=TOKEN)
    client = app.test_client()
    page = client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 401 and b"access token" in page.data
    assert client.get("/api/state").status_code == 401
    assert client.get("/api/cameras/sim:macro/live.mjpg").status_code == 401
    assert client.get("/static/js/core.js").status_code == 401
    assert client.get("/api/state", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/state", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_token_in_url_becomes_a_cookie(app_factory) -> None:
    _, app = app_factory(host="0.0.0.0", token=TOKEN)
    client = app.test_client()
    response = client.get(f"/bursts?token={TOKEN}", headers={"Accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/bursts"
    cookie = response.headers["Set-Cookie"]
    assert f"tether_token={TOKEN}" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/bursts", headers={"Accept": "text/html"}).status_code == 200  # the cookie is sent now
    # a wrong token in the URL is refused, not traded for a cookie
    assert app.test_client().get("/?token=nope", headers={"Accept": "text/html"}).status_code == 401


def test_socket_refused_without_token(app_factory) -> None:
    _, app = app_factory(host="0.0.0.0", token=TOKEN)
    refused = socketio.test_client(app)
    assert not refused.is_connected()
    wrong = socketio.test_client(app, auth={"token": "nope"})
    assert not wrong.is_connected()
    allowed = socketio.test_client(app, auth={"token": TOKEN})
    assert allowed.is_connected()
    names = [m["name"] for m in allowed.get_received()]
    assert "snapshot" in names
    allowed.disconnect()


def test_socket_refused_cross_origin(app) -> None:
    foreign = socketio.test_client(app, headers={"Origin": "http://evil.example"})
    assert not foreign.is_connected()
