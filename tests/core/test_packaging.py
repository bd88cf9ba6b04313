"""The wheel a user would pip-install carries the control panel's templates and static files."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_carries_templates_and_static_files(tmp_path: Path) -> None:
    source = tmp_path / "src"
    # A copy of the tracked files only: the build must not depend on .venv, node_modules or build/.
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in tracked)):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert build.returncode == 0, build.stderr
    assert "absent from the `packages` configuration" not in build.stderr
    (wheel,) = (tmp_path / "dist").glob("tether-*.whl")

    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("static", "templates"):
        expected = {
            f"tether/{folder}/{p.relative_to(ROOT / folder)}" for p in (ROOT / folder).rglob("*") if p.is_file()
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
