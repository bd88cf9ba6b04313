"""Hostile HTTP against a real ``tether serve`` (no browser needed, but the real server is what is
attacked): deeply nested JSON, chunked bodies, and a token-to-cookie redirect aimed at another origin."""
from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
import requests

from tether.web.validation import MAX_JSON_DEPTH

if TYPE_CHECKING:
    from tests.web.browser.conftest import Server

pytestmark = pytest.mark.slow

TOKEN = "hostile-http-token-41c9"

#: Every endpoint that reads a JSON body (method, path); the first test checks that none is missing.
JSON_ENDPOINTS = [
    ("POST", "/api/cameras/open"),
    ("PUT", "/api/cameras/sim:macro/settings/iso"),
    ("POST", "/api/cameras/sim:macro/focus"),
    ("POST", "/api/cameras/sim:macro/prescan"),
    ("POST", "/api/cameras/sim:macro/sweep"),
    ("POST", "/api/plan"),
    ("POST", "/api/bursts/no-such-burst/export"),
    ("POST", "/api/bursts/no-such-burst/stack"),
    ("POST", "/api/bursts/no-such-burst/save-frame"),
    ("POST", "/api/bursts/no-such-burst/retouch/strokes"),
    ("POST", "/api/bursts/no-such-burst/retouch/export"),
    ("POST", "/api/bursts/no-such-burst/retouch/restore"),
    ("PATCH", "/api/bursts/no-such-burst"),
    ("POST", "/api/sessions"),
    ("PATCH", "/api/sessions/no-such-session"),
    ("POST", "/api/cameras/sim:macro/marks"),
    ("POST", "/api/bursts/no-such-burst/extend"),
    ("POST", "/api/bursts/no-such-burst/reshoot"),
    ("POST", "/api/bursts/no-such-burst/depth/preview"),
    ("PUT", "/api/bursts/no-such-burst/depth/settings"),
    ("POST", "/api/bursts/no-such-burst/depth/export"),
]
#: Endpoints that take a POST without reading a body.
BODILESS = {"/api/cameras/refresh", "/api/cameras/<camera_id>/capture", "/api/bursts/<burst_id>/refocus-map",
            "/api/jobs/<job_id>/cancel", "/api/sessions/<session_id>/use", "/api/bursts/<burst_id>/living",
            "/api/bursts/<burst_id>/retouch/undo", "/api/bursts/<burst_id>/retouch/redo"}


def raw_request(server: Server, head: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send ``head`` (request line and headers, without the blank line) and ``body`` as they are; the answer."""
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode("latin-1") + b"\r\n\r\n" + body)
        sock.shutdown(socket.SHUT_WR)  # Werkzeug drains an unread body until the client stops sending
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head_bytes, _, content = answer.partition(b"\r\n\r\n")
    status_line, *lines = head_bytes.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, content


def chunked(data: bytes, size: int = 7) -> bytes:
    """``data`` in Transfer-Encoding: chunked framing, in pieces of ``size`` bytes."""
    pieces = [data[i:i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


@pytest.fixture(scope="module")
def server(start_tether: Callable[..., Server]) -> Server:
    return start_tether(size=(160, 120))


@pytest.fixture(scope="module")
def remote(start_tether: Callable[..., Server]) -> Server:
    return start_tether(host="127.0.0.2", token=TOKEN, size=(160, 120))


def test_the_list_names_every_endpoint_that_takes_a_body(app) -> None:
    writing = {rule.rule for rule in app.url_map.iter_rules() if {"POST", "PUT", "PATCH"} & set(rule.methods or ())}
    listed = {path.replace("sim:macro", "<camera_id>").replace("no-such-burst", "<burst_id>").replace("iso", "<name>")
              .replace("no-such-session", "<session_id>") for _, path in JSON_ENDPOINTS}
    assert writing - BODILESS == listed


@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS)
def test_deeply_nested_json_is_a_400_on_every_endpoint(server: Server, method: str, path: str) -> None:
    for body in ("[" * 1000, "[" * 1000 + "]" * 1000, '{"range": ' + "[" * 1000 + "]" * 1000 + "}"):
        answer = requests.request(method, server.url + path, data=body, timeout=30,
                                  headers={"Content-Type": "application/json"})
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"] == f"the body is nested too deeply (at most {MAX_JSON_DEPTH} levels)"
    assert server.process.poll() is None


def test_nesting_up_to_the_limit_is_read(server: Server) -> None:
    """The object is one level, so its value may add MAX_JSON_DEPTH - 1 more: read, then judged by its type."""
    for extra, nested in ((MAX_JSON_DEPTH - 1, False), (MAX_JSON_DEPTH, True)):
        body = '{"range": ' + "[" * extra + "]" * extra + "}"
        answer = requests.post(server.url + "/api/plan", data=body, timeout=30,
                               headers={"Content-Type": "application/json"})
        assert answer.status_code == 400 and ("nested" in answer.json()["error"]) is nested, answer.text
    # brackets inside a string are text, not nesting
    answer = requests.post(server.url + "/api/plan", json={"range": [0, 100], "frames": "[" * 1000}, timeout=30)
    assert answer.status_code == 400 and "nested" not in answer.json()["error"]


def test_a_chunked_json_body_is_read(server: Server) -> None:
    body = json.dumps({"range": [100, 400], "frames": 7}).encode()
    status, _, content = raw_request(server, "\n".join([
        "POST /api/plan HTTP/1.1", f"Host: 127.0.0.1:{server.port}", "Content-Type: application/json",
        "Transfer-Encoding: chunked", "Connection: close"]), chunked(body))
    assert status == 200, content
    plain = requests.post(server.url + "/api/plan", json={"range": [100, 400], "frames": 7}, timeout=30)
    assert json.loads(content) == plain.json()


def test_a_chunked_body_past_the_size_limit_is_refused(server: Server) -> None:
    body = json.dumps({"range": [100, 400], "pad": "x" * 100_000}).encode()
    status, _, _ = raw_request(server, "\n".join([
        "POST /api/plan HTTP/1.1", f"Host: 127.0.0.1:{server.port}", "Content-Type: application/json",
        "Transfer-Encoding: chunked", "Connection: close"]), chunked(body, 4096))
    assert status == 413


@pytest.mark.parametrize("path", ["/%5c127.0.0.1:{port}/api/state", "/%5C%5Cevil.example/api/state",
                                  "/%2F%2Fevil.example/api/state", "/%2f/evil.example/"])
def test_the_token_redirect_stays_on_this_origin(remote: Server, path: str) -> None:
    status, headers, _ = raw_request(remote, "\n".join([
        f"GET {path.format(port=remote.port)}?token={TOKEN} HTTP/1.1", f"Host: 127.0.0.2:{remote.port}",
        "Accept: text/html", "Connection: close"]))
    assert status == 303
    assert headers["location"] == "/"
    assert f"tether_token={TOKEN}" in headers["set-cookie"]


def test_the_token_redirect_keeps_an_ordinary_path(remote: Server) -> None:
    status, headers, _ = raw_request(remote, "\n".join([
        f"GET /bursts?token={TOKEN}&sort=new HTTP/1.1", f"Host: 127.0.0.2:{remote.port}",
        "Accept: text/html", "Connection: close"]))
    assert (status, headers["location"]) == (303, "/bursts?sort=new")
