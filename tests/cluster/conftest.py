"""A real cluster for the tests: redis-server on a free loopback port in a temporary folder (AOF on,
as the README sets it up), and real ``tether worker`` processes; plus small simulated bursts.

redis-server comes from the Debian package (``scripts/debian-packages test`` installs it, as it does
chromium); without it these tests are skipped, except under CI=true, where that is a failure.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.imaging.conftest import make_stack
from tests.web.browser.conftest import browser, new_page  # noqa: F401 (the panel test's fixtures)
from tether.burst import BurstWriter, FrameMeta

#: Long enough for a loaded 2-core machine to start a worker or stack a handful of tiny bursts.
PATIENCE = 90.0


def redis_server_binary() -> str:
    found = shutil.which("redis-server") or next(
        (p for p in ("/usr/sbin/redis-server", "/usr/bin/redis-server") if os.access(p, os.X_OK)), None)
    if found is None:
        message = "redis-server is not installed (scripts/debian-packages test installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Redis:
    """One redis-server of the tests' own: loopback only, append-only file on, in its own folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Redis:
        self.process = subprocess.Popen(
            [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--appendonly", "yes", "--save", "", "--daemonize", "no", "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return self
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        """SIGTERM: redis-server flushes its append-only file and exits, as on a machine's shutdown."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=PATIENCE)
        self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Redis]:
    folder = tmp_path / "redis"
    folder.mkdir()
    server = Redis(folder).start()
    yield server
    server.stop()


def write_config(path: Path, data_dir: Path, broker: str, *, cluster: str = "") -> Path:
    """A config naming the data folder and the broker; ``cluster``: more [cluster] lines."""
    path.write_text(f'[paths]\ndata_dir = "{data_dir}"\n\n[cluster]\nbroker = "{broker}"\n{cluster}')
    return path


class Worker:
    """A ``tether worker`` process; its log is collected to tell when it is ready."""

    def __init__(self, config: Path, name: str) -> None:
        self.log: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tether", "--config", str(config), "worker", "--name", name,
             "--concurrency", "1", "--loglevel", "info"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            # its own temp folder: a worker ended with SIGKILL leaves its multiprocessing folder there
            env={**os.environ, "TMPDIR": str(config.parent)})
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log.append(line)

    def wait_for(self, text: str, timeout: float = PATIENCE) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.log):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker never logged {text!r}:\n{''.join(self.log)}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Ends the worker and its task processes at once: the tests are done with whatever they hold."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._reader.join(timeout=10)


@pytest.fixture
def start_workers() -> Iterator[object]:
    """``start_workers(config, "w1", "w2")``: running workers (started side by side), stopped after the test."""
    workers: list[Worker] = []

    def start(config: Path, *names: str) -> list[Worker]:
        started = [Worker(config, name) for name in names]
        workers.extend(started)
        for worker in started:
            worker.wait_for(" ready.")
        return started

    yield start
    for worker in workers:
        worker.stop()


def write_bursts(folder: Path, count: int, *, frames: int = 4, shape: tuple[int, int] = (240, 320),
                 scenes: int = 0) -> list[Path]:
    """``count`` bursts of ``frames`` synthetic focus-swept frames (blur varying with depth), JPEG as a camera's.

    ``scenes`` (default ``count``): how many scenes are rendered; bursts beyond them repeat one shifted
    by a few pixels, so each still has its own content (the renderer is slow at 1080p).
    """
    folder.mkdir(parents=True, exist_ok=True)
    stacks = [make_stack(frames, shape, seed=seed, noise=1.0) for seed in range(min(scenes or count, count))]
    paths = []
    for k in range(count):
        shift = k // len(stacks)
        path = folder / f"b{k:03d}.burst"
        with BurstWriter.create(path, camera={"model": "Test rig"}, sweep={"mode": "liveview"}) as writer:
            for i, image in enumerate(stacks[k % len(stacks)].frames):
                ok, data = cv2.imencode(".jpg", np.roll(image, (shift, 2 * shift), axis=(0, 1)),
                                        [cv2.IMWRITE_JPEG_QUALITY, 92])
                assert ok
                writer.append(data.tobytes(), FrameMeta(captured_at=1.8e9 + i, focus_position=10 * i))
        paths.append(path)
    return paths
