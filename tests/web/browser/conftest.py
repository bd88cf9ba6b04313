"""Browser tests: a real ``tether serve`` subprocess on the simulated camera, driven by Debian's Chromium.

Chromium is launched by path (the ``chromium`` Debian package; Playwright never downloads a
browser here). A failing test leaves a screenshot in ``test-artifacts/``.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    host: str
    port: int
    data_dir: Path
    process: subprocess.Popen[str]
    token: str = ""
    output: str = ""


def start_server(base: Path, *, host: str = "127.0.0.1", token: str = "", fps: float = 12.0,
                 size: tuple[int, int] = (480, 320), python: str = sys.executable, port: int | None = None,
                 sim: str = "") -> Server:
    """Run ``tether serve`` on the simulated camera with a small live view; wait until it answers.
    ``python`` is the interpreter whose installed tether runs (-P: never the checkout in the working dir);
    ``port``: the one of a server stopped before (a restart), else a free one; ``sim``: more [sim] lines."""
    base.mkdir(parents=True, exist_ok=True)
    data_dir = base / "data"
    config = base / "config.toml"
    config.write_text(
        f'[server]\ntoken = "{token}"\n\n'
        f"[sim]\nliveview_width = {size[0]}\nliveview_height = {size[1]}\nliveview_fps = {fps}\n"
        f"still_width = 640\nstill_height = 480\n{sim}", encoding="utf-8")
    port = port or free_port(host)
    home = base / "home"
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local/share"), PYTHONUNBUFFERED="1")
    log = open(base / "server.log", "w", encoding="utf-8")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(
        [python, "-P", "-m", "tether", "--config", str(config), "--data-dir", str(data_dir),
         "serve", "--camera", "sim:macro", "--host", host, "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT,
        start_new_session=True)
    url = f"http://{host}:{port}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tether serve exited {process.returncode}:\n{(base / 'server.log').read_text()}")
        try:
            if requests.get(f"{url}/api/state", headers=headers, timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(0.2)
    else:
        stop_server_process(process)
        raise RuntimeError(f"tether serve did not answer:\n{(base / 'server.log').read_text()}")
    server = Server(url, host, port, data_dir, process, token)
    server.output = (base / "server.log").read_text()
    return server


def stop_server_process(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # the server stops cleanly (closes the camera)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A loopback server shared by the tests of one module."""
    srv = start_server(tmp_path_factory.mktemp("serve"))
    yield srv
    stop_server_process(srv.process)


@pytest.fixture(scope="module")
def start_tether(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Server]]:
    """Start more servers (e.g. beyond loopback with a token); all are stopped after the module."""
    started: list[Server] = []

    def start(**options: Any) -> Server:
        srv = start_server(tmp_path_factory.mktemp("serve"), **options)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        stop_server_process(srv.process)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium for the session. Without it the browser tests are skipped, but in CI (CI=true)
    they fail: a CI run that skipped them would pass without having tested the panel."""
    path = chromium_path()
    if path is None:
        reason = "Debian's chromium is not installed (`make test` installs it: scripts/debian-packages)"
        if os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def new_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    """Open pages in fresh browser contexts (separate cookies: separate 'browsers'); screenshots on failure."""
    contexts = []

    def make(viewport: ViewportSize | None = None, **options: Any) -> Page:
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800}, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: msg.type == "error" and print(f"[browser console] {msg.text}"))
        page.on("pageerror", lambda exc: print(f"[page error] {exc}"))
        return page

    yield make
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        for i, context in enumerate(contexts):
            for j, page in enumerate(context.pages):
                try:
                    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{i}-{j}.png"), full_page=True)
                except Exception as exc:  # a crashed page must not hide the test's own failure
                    print(f"screenshot failed: {exc}")
    for context in contexts:
        context.close()
