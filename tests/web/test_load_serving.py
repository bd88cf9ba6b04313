"""API load during a sweep against a real ``tether serve``: requests take turns with the capture, and
nothing waits forever (issue 15 item 6). How fast the sweep goes under load is measured by
``benchmarks/web.py --parts sweep``, not here."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.web.browser.conftest import Server, start_server, stop_server_process
from tether.web.serving import Turns

CAMERA = "sim:macro"
BOUNDARY = b"--tetherframe"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "serve", size=(160, 120), fps=15.0)
    yield srv
    stop_server_process(srv.process)


class Viewer(threading.Thread):
    """Reads the MJPEG stream and counts the frames that arrive."""

    def __init__(self, server: Server, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.server, self.stop = server, stop
        self.frames = 0
        self.first = threading.Event()

    def run(self) -> None:
        with socket.create_connection((self.server.host, self.server.port), timeout=30) as sock:
            sock.sendall(f"GET /api/cameras/{CAMERA}/live.mjpg HTTP/1.1\r\nHost: {self.server.host}\r\n\r\n".encode())
            tail = b""
            while not self.stop.is_set() and (chunk := sock.recv(65536)):
                data = tail + chunk
                self.frames += data.count(BOUNDARY)
                tail = data[-len(BOUNDARY):]
                if self.frames:
                    self.first.set()


class Caller(threading.Thread):
    """Calls the cheap endpoints in turn, as fast as they are answered; keeps every status."""

    PATHS = ("/api/state", "/api/jobs", "/api/cameras", "/api/bursts")

    def __init__(self, server: Server, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.server, self.stop = server, stop
        self.statuses: list[int] = []

    def run(self) -> None:
        with requests.Session() as session:
            while not self.stop.is_set():
                path = self.PATHS[len(self.statuses) % len(self.PATHS)]
                self.statuses.append(session.get(self.server.url + path, timeout=60).status_code)


def test_a_sweep_under_api_load_keeps_every_client_answered(server: Server) -> None:
    stop = threading.Event()
    viewer = Viewer(server, stop)
    callers = [Caller(server, stop) for _ in range(8)]
    viewer.start()
    assert viewer.first.wait(30), "the live view sent no frame"
    for caller in callers:
        caller.start()
    try:
        started = requests.post(f"{server.url}/api/cameras/{CAMERA}/sweep", timeout=30,
                                json={"range": [20, 220], "step": "small", "step_count": 2})
        assert started.status_code == 202, started.text
        job = started.json()["job"]
        with requests.Session() as session:
            while (state := session.get(f"{server.url}/api/jobs/{job}", timeout=60).json())["state"] == "queued":
                pass
            # a connection that says nothing (a browser's preconnect) and a viewer that connects while the
            # sweep runs: the viewer gets frames, and neither keeps the others waiting
            silent = socket.create_connection((server.host, server.port), timeout=30)
            late = Viewer(server, stop)
            late.start()
            assert late.first.wait(30), "a live view opened during the sweep sent no frame"
            seen = {"frames": viewer.frames, "answers": sum(len(c.statuses) for c in callers)}
            while (state := session.get(f"{server.url}/api/jobs/{job}", timeout=60).json())["state"] == "running":
                pass
        during = {"frames": viewer.frames, "answers": sum(len(c.statuses) for c in callers)}
        silent.close()
    finally:
        stop.set()
        for thread in (viewer, *callers):
            thread.join(timeout=60)
    assert state["state"] == "done", state
    assert state["result"]["frames"] == state["result"]["planned"] == 101
    assert during["frames"] > seen["frames"], "the live view stopped during the sweep"
    assert during["answers"] > seen["answers"], "the API stopped answering during the sweep"
    statuses = [status for caller in callers for status in caller.statuses]
    assert set(statuses) == {200}, sorted(set(statuses))
    assert all(caller.statuses for caller in callers)


def test_connections_take_turns_one_at_a_time_while_capturing() -> None:
    turns = Turns(lambda: True, share=1.0)  # share 1: no pause between turns
    inside, most, lock = 0, 0, threading.Lock()

    def connection() -> None:
        nonlocal inside, most
        for _ in range(50):
            end = turns.take()
            assert end is not None
            with lock:
                inside += 1
                most = max(most, inside)
            with lock:
                inside -= 1
            end()
            end()  # ending twice (the stream's early end, then the connection's) passes one turn only

    threads = [threading.Thread(target=connection) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a connection never got its turn"
    assert most == 1


def test_without_capture_nobody_waits_for_a_turn() -> None:
    capturing = True
    turns = Turns(lambda: capturing)
    held = turns.take()
    assert held is not None
    capturing = False
    assert turns.take() is None  # answered at once although a turn is still held
    held()
