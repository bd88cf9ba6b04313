"""A real ``tether serve``: the token cookie's lifetime, the warning for a short token, and a Socket.IO
client that floods the server (no browser needed, but the real server is what is tested)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
import requests
import socketio

from tether.web.security import MIN_TOKEN_LENGTH

if TYPE_CHECKING:
    from tests.web.browser.conftest import Server

pytestmark = pytest.mark.slow

TOKEN = "a-token-long-enough-7c2e"


def test_the_token_cookie_is_kept_400_days(start_tether: Callable[..., Server]) -> None:
    """The README's "open the URL once; the browser keeps it": a cookie without Max-Age ends with the
    browser session; 400 days is the longest browsers keep one."""
    remote = start_tether(host="127.0.0.2", token=TOKEN, size=(160, 120))
    answer = requests.get(f"{remote.url}/?token={TOKEN}", headers={"Accept": "text/html"}, allow_redirects=False,
                          timeout=30)
    assert answer.status_code == 303
    attributes = [part.strip() for part in answer.headers["Set-Cookie"].split(";")]
    assert f"tether_token={TOKEN}" in attributes and f"Max-Age={400 * 24 * 3600}" in attributes
    assert "warning" not in remote.output  # a token of 16 characters or more is not warned about


def test_a_short_token_is_accepted_with_one_warning(start_tether: Callable[..., Server]) -> None:
    remote = start_tether(host="127.0.0.2", token="a", size=(160, 120))
    warnings = [line for line in remote.output.splitlines() if "warning" in line]
    assert warnings == [f"warning: the configured token is too short to be safe (1 of at least {MIN_TOKEN_LENGTH} "
                        "characters); make one with python3 -c 'import secrets; print(secrets.token_urlsafe(24))'"]
    assert requests.get(f"{remote.url}/api/state", timeout=30).status_code == 401
    assert requests.get(f"{remote.url}/api/state", headers={"Authorization": "Bearer a"}, timeout=30).status_code == 200


def test_a_socketio_flood_logs_no_traceback(start_tether: Callable[..., Server]) -> None:
    """2,000 emits without waiting: long polling batches them into requests Engine.IO will not read
    (more than 16 messages each); those are dropped with one line each, and the server goes on."""
    server = start_tether(size=(160, 120))
    flooder = socketio.Client()
    flooder.connect(server.url, transports=["polling"])
    try:
        for i in range(2000):
            flooder.emit("snapshot", {"i": i})
    finally:
        flooder.disconnect()
    client = socketio.Client()
    client.connect(server.url, transports=["polling"])
    try:  # still answering, and an argument the event does not take is ignored
        assert "cameras" in client.call("snapshot", {"i": 0}, timeout=30)
    finally:
        client.disconnect()
    log = (server.data_dir.parent / "server.log").read_text()
    assert "request was dropped" in log
    assert "Traceback" not in log and "Error:" not in log, log
    assert server.process.poll() is None
