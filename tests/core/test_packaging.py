"""The wheel a user would pip-install carries the control panel: templates, static files and the npm
libraries, so the panel it serves connects."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import sync_playwright

from tests.web.browser.conftest import CHROMIUM_ARGS, chromium_path, free_port, start_server, stop_server_process

ROOT = Path(__file__).resolve().parents[2]
SOCKET_IO = "socket.io.esm.min.js"


def tracked_copy(target: Path) -> Path:
    """A copy of the tracked files only: the build must not depend on .venv or build/."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in tracked)):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def build_wheel(source: Path, dist: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", *options, "-w", str(dist), str(source)],
        capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The wheel built as a user would, from the tracked files plus the node_modules `npm ci` installed."""
    base = tmp_path_factory.mktemp("wheel")
    source = tracked_copy(base / "src")
    (source / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    build = build_wheel(source, base / "dist")
    assert build.returncode == 0, build.stderr
    assert "absent from the `packages` configuration" not in build.stderr
    (built,) = (base / "dist").glob("tether-*.whl")
    yield built
    shutil.rmtree(base)


@pytest.mark.slow
def test_wheel_carries_templates_and_static_files(wheel: Path, tmp_path: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("static", "templates"):
        expected = {
            f"tether/{folder}/{p.relative_to(ROOT / folder)}"
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and not p.is_relative_to(ROOT / "static" / "vendor")  # an ignored left-over, if any
        }
        assert expected and expected <= names, sorted(expected - names)

    # Unpacked on its own (no source checkout next to it), the web app finds its pages in the package.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "from tether.web.app import asset_dir; print(asset_dir('templates')); print(asset_dir('static'))",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    )
    assert probe.returncode == 0, probe.stderr
    templates, static = (Path(line) for line in probe.stdout.split())
    assert templates == site / "tether" / "templates" and (templates / "base.html").is_file()
    assert static == site / "tether" / "static" and (static / "css" / "tether.css").is_file()


@pytest.mark.slow
@pytest.mark.browser
def test_pip_installed_panel_connects_and_refuses_to_start_without_socket_io(wheel: Path, tmp_path: Path) -> None:
    if chromium_path() is None:
        pytest.skip("Debian's chromium is not installed (`make test` installs it: scripts/debian-packages)")
    # A fresh venv holding only the wheel; the locked dependencies come from this interpreter's
    # site-packages through a .pth (a plain path: the checkout's editable-install hook is not run).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, capture_output=True)
    (site,) = venv.glob("lib/python*/site-packages")
    (site / "locked-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")

    server = start_server(tmp_path / "serve", python=str(python))
    try:
        library = requests.get(f"{server.url}/vendor/{SOCKET_IO}", timeout=10)
        assert library.status_code == 200 and b"export" in library.content
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(server.url + "/")
                page.wait_for_selector("#connection[data-state=connected]", timeout=15_000)
            finally:
                browser.close()
    finally:
        stop_server_process(server.process)

    # The served file was the wheel's own copy: without it the installed server refuses to start.
    (site / "tether" / "static" / "vendor" / SOCKET_IO).unlink()
    refused = subprocess.run([str(venv / "bin" / "tether"), "--data-dir", str(tmp_path / "data"), "serve",
                              "--camera", "sim:macro", "--port", str(free_port())],
                             capture_output=True, text=True, timeout=60, cwd=tmp_path,
                             env=dict(os.environ, HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "home")))
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines() == [
        f"tether: the control panel's front-end library {SOCKET_IO} is missing "
        "(run `npm ci` (or `make setup`) in the source checkout, then build the wheel again)"]


@pytest.mark.slow
def test_wheel_build_without_node_modules_stops_in_one_line(tmp_path: Path) -> None:
    source = tracked_copy(tmp_path / "src")
    build = build_wheel(source, tmp_path / "dist", "--no-build-isolation")
    assert build.returncode != 0
    assert f"error: node_modules/socket.io-client/dist/{SOCKET_IO} is missing: run `npm ci`" in build.stderr
    assert not list((tmp_path / "dist").glob("*.whl"))
