"""A server whose broker is down: a job sent to the cluster fails at once with the reason, the server stays up."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from tests.cluster.conftest import free_port, write_bursts
from tests.web.browser.conftest import start_server, stop_server_process

pytestmark = pytest.mark.slow


def test_a_stack_sent_while_the_broker_is_down_fails_naming_the_broker(tmp_path: Path) -> None:
    data = tmp_path / "serve" / "data"
    write_bursts(data / "bursts", 1, frames=3)
    # nothing listens on this port: the broker is down (or was never started)
    server = start_server(tmp_path / "serve", sim=f'\n[cluster]\nbroker = "redis://127.0.0.1:{free_port()}/0"\n')
    try:
        started = requests.post(f"{server.url}/api/bursts/b000/stack", json={}, timeout=60)
        assert started.status_code == 202, started.text
        url = f"{server.url}/api/jobs/{started.json()['job']}"
        deadline = time.monotonic() + 60
        while (job := requests.get(url, timeout=10).json())["state"] in ("queued", "running"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job["state"] == "error"
        assert "broker cannot be reached" in job["error"] and "\n" not in job["error"]
        assert requests.get(f"{server.url}/api/state", timeout=10).ok  # the server is still serving
    finally:
        stop_server_process(server.process)
