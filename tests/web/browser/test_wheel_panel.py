"""A pip-installed tether (the wheel in a fresh venv, no source checkout) serves a panel that connects."""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page

from tests.core.test_packaging import SOCKET_IO, user_wheel
from tests.web.browser.conftest import free_port, start_server, stop_server_process

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def fresh_venv(wheel: Path, target: Path) -> Path:
    """A venv holding only ``wheel``; the locked dependencies come from this interpreter's
    site-packages through a .pth (a plain path: the checkout's editable-install hook is not run)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    python = target / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, capture_output=True)
    (site,) = target.glob("lib/python*/site-packages")
    (site / "locked-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return python


def test_pip_installed_panel_connects_and_refuses_to_start_without_socket_io(
        tmp_path: Path, new_page: Callable[..., Page]) -> None:
    python = fresh_venv(user_wheel(tmp_path / "build"), tmp_path / "venv")
    server = start_server(tmp_path / "serve", python=str(python))
    try:
        library = requests.get(f"{server.url}/vendor/{SOCKET_IO}", timeout=10)
        assert library.status_code == 200 and b"export" in library.content
        page = new_page()
        page.goto(server.url + "/")
        page.wait_for_selector("#connection[data-state=connected]")
    finally:
        stop_server_process(server.process)

    # What was served is the wheel's own copy: without it the installed server refuses to start, in one line.
    (copy,) = (tmp_path / "venv").glob(f"lib/python*/site-packages/tether/static/vendor/{SOCKET_IO}")
    copy.unlink()
    home = tmp_path / "home"
    refused = subprocess.run(
        [str(python.parent / "tether"), "--data-dir", str(tmp_path / "data"), "serve", "--camera", "sim:macro",
         "--port", str(free_port())],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env=dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config")))
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines() == [
        f"tether: the control panel's front-end library {SOCKET_IO} is missing "
        "(run `npm ci` (or `make setup`) in the source checkout, then build the wheel again)"]
