"""The wheel a user would pip-install carries the control panel: templates, static files and the npm
libraries (tests/web/browser/test_wheel_panel.py installs it and opens the panel)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

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


def user_wheel(base: Path) -> Path:
    """The wheel built as a user would, from the tracked files plus the node_modules `npm ci` installed."""
    source = tracked_copy(base / "src")
    (source / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    build = build_wheel(source, base / "dist")
    assert build.returncode == 0, build.stderr
    assert "absent from the `packages` configuration" not in build.stderr
    (built,) = (base / "dist").glob("tether-*.whl")
    return built


@pytest.mark.slow
def test_wheel_carries_templates_static_files_and_npm_libraries(tmp_path: Path) -> None:
    wheel = user_wheel(tmp_path / "build")
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("static", "templates"):
        expected = {
            f"tether/{folder}/{p.relative_to(ROOT / folder)}"
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and not p.is_relative_to(ROOT / "static" / "vendor")  # an ignored left-over, if any
        }
        assert expected and expected <= names, sorted(expected - names)
    assert f"tether/static/vendor/{SOCKET_IO}" in names
    assert "tether/engine/living.html" in names  # the living picture's page, a resource of its module

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
def test_wheel_build_without_node_modules_stops_in_one_line(tmp_path: Path) -> None:
    source = tracked_copy(tmp_path / "src")
    build = build_wheel(source, tmp_path / "dist", "--no-build-isolation")
    assert build.returncode != 0
    assert f"error: node_modules/socket.io-client/dist/{SOCKET_IO} is missing: run `npm ci`" in build.stderr
    assert not list((tmp_path / "dist").glob("*.whl"))
