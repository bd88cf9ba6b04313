"""What ``tether serve`` prints under a Socket.IO flood: each of Engine.IO's lines once, through tether's
own log format (Engine.IO's own console handler printed every line a second time)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import socketio

from tests.web.browser.conftest import Server, start_server, stop_server_process

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "serve", size=(160, 120))
    yield srv
    stop_server_process(srv.process)


def test_engineio_lines_are_printed_once(server: Server) -> None:
    flooder = socketio.Client()
    flooder.connect(server.url, transports=["polling"])
    try:
        for i in range(2000):  # batched into polling requests Engine.IO will not read: one line each
            flooder.emit("snapshot", {"i": i})
    finally:
        flooder.disconnect()
    stop_server_process(server.process)  # everything it printed is in the log now
    lines = (server.data_dir.parent / "server.log").read_text().splitlines()
    dropped = [line for line in lines if "request was dropped" in line]
    assert dropped
    once = "WARNING engineio.server: a Socket.IO client's request was dropped"
    assert all(line.startswith(once) for line in dropped), dropped[:4]
