"""A server beyond loopback (127.0.0.2 counts: only 127.0.0.1, ::1 and localhost are exempt) refuses the
page, the live view and the socket without its token; with the token the browser gets all three."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
import requests
import socketio as sio_client
from playwright.sync_api import Page

if TYPE_CHECKING:
    from tests.web.browser.conftest import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TOKEN = "browser-test-token-7f3a"


@pytest.fixture(scope="module")
def remote(start_tether: Callable[..., Server]) -> Server:
    return start_tether(host="127.0.0.2", token=TOKEN)


def test_without_token_page_stream_and_socket_are_refused(remote: Server, new_page: Callable[..., Page]) -> None:
    page = new_page()
    response = page.goto(f"{remote.url}/")
    assert response.status == 401
    assert "access token" in page.inner_text("body")
    stream = requests.get(f"{remote.url}/api/cameras/sim:macro/live.mjpg", stream=True, timeout=5)
    assert stream.status_code == 401
    stream.close()
    wrong = requests.get(f"{remote.url}/api/cameras/sim:macro/live.jpg", params={"token": "wrong"}, timeout=5)
    assert wrong.status_code == 401
    client = sio_client.Client(reconnection=False)
    with pytest.raises(sio_client.exceptions.ConnectionError):
        client.connect(remote.url, transports=["polling"], wait_timeout=5)
    # the browser's own socket, from a page that was let in once and then lost its cookie
    page.goto(f"{remote.url}/?token={TOKEN}")
    page.wait_for_selector("#connection[data-state=connected]")
    page.context.clear_cookies()
    page.evaluate("window.tetherSocket.disconnect(); window.tetherSocket.connect()")
    page.wait_for_selector("#connection[data-state=disconnected]")


def test_with_token_everything_works(remote: Server, new_page: Callable[..., Page]) -> None:
    page = new_page()
    response = page.goto(f"{remote.url}/?token={TOKEN}")
    assert response.status == 200 and page.url == f"{remote.url}/"  # the token left the address bar
    page.wait_for_selector("#connection[data-state=connected]")
    page.wait_for_function("document.querySelector('#live-img').naturalWidth === 480")
    client = sio_client.Client(reconnection=False)
    # python-socketio sends custom headers on the first request only; the query string goes on all of them
    client.connect(f"{remote.url}?token={TOKEN}", transports=["polling"], wait_timeout=5)
    assert client.connected
    client.disconnect()
    assert requests.get(f"{remote.url}/api/state", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).ok
