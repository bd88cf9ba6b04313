"""Fixtures shared by every test: an isolated home, data dir and config, and the real CLI."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HOME (libgphoto2 writes a GUID under ~/.config/gphoto) and XDG dirs at a temporary folder."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.delenv("TETHER_CONFIG", raising=False)
    return home


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def run_tether(*args: str, check: bool = False, timeout: float = 120, env: dict[str, str] | None = None,
               cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real ``tether`` command in a subprocess, as a user would."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    result = subprocess.run(
        [sys.executable, "-m", "tether", *args],
        capture_output=True, text=True, timeout=timeout, env=full_env, cwd=cwd,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"tether {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(name="run_tether")
def run_tether_fixture():
    """The ``run_tether`` helper as a fixture."""
    return run_tether
