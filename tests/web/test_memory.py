"""The server's memory after sweeps, through a real ``tether serve`` (issue 15 item 11): what the first
sweep adds is the simulated camera's render caches and little else, and the next sweep adds nothing."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.web.browser.conftest import Server, start_server, stop_server_process
from tether.camera.sim.camera import FRAME_CACHE_BYTES
from tether.camera.sim.optics import LayerCache

pytestmark = pytest.mark.slow

MB = 1024 * 1024
#: What the simulated camera keeps on purpose once it has rendered a sweep: its blurred layers and frames.
SIM_CACHES = LayerCache().max_bytes + FRAME_CACHE_BYTES
#: Room for the rest (the sweep's threads, OpenCV's and numpy's buffers, the heap's slack).
OTHER = 64 * MB


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "serve", size=(960, 540), fps=60.0)
    yield srv
    stop_server_process(srv.process)


def sweep(server: Server) -> None:
    with requests.Session() as session:
        started = session.post(f"{server.url}/api/cameras/sim:macro/sweep", timeout=30,
                               json={"range": [20, 200], "step": "small", "step_count": 2})
        assert started.status_code == 202, started.text
        job = started.json()["job"]
        while (state := session.get(f"{server.url}/api/jobs/{job}", timeout=30).json())["state"] in (
                "queued", "running"):
            pass
    assert state["state"] == "done", state


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc")
def test_sweeps_leave_the_server_holding_its_caches_only(server: Server) -> None:
    with requests.Session() as session:  # idle means the camera open and showing its live view
        while session.get(f"{server.url}/api/cameras/sim:macro/live.jpg", timeout=30).status_code != 200:
            pass
    idle = rss(server.process.pid)
    sweep(server)
    first = rss(server.process.pid)
    sweep(server)
    last = rss(server.process.pid)
    assert first - idle <= SIM_CACHES + OTHER, f"the first sweep added {(first - idle) / MB:.0f} MB"
    assert last - first <= 32 * MB, f"a second sweep added {(last - first) / MB:.0f} MB"
