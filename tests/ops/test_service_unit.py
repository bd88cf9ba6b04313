"""udev/tether.service: what it promises, and systemd's own verdict on it (system and user installs)."""
from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "udev" / "tether.service"
README = ROOT / "README.md"
INSTALLED_ROOT = "/opt/tether"


def _unit(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(text)
    return parser


def test_unit_runs_serve_unprivileged_and_restarts() -> None:
    service = _unit(UNIT.read_text())["Service"]
    assert service["ExecStart"] == f"{INSTALLED_ROOT}/.venv/bin/tether serve --config /etc/tether/config.toml"
    assert service["Restart"] == "on-failure"
    assert service["User"] == "tether" and service["User"] != "root"
    assert "plugdev" in service["SupplementaryGroups"].split()  # the group 60-tether-cameras.rules grants
    assert service["StateDirectory"] == "tether" and "PrivateDevices" not in service  # /dev/bus/usb must stay visible


def _verify(unit: Path, *, user: bool, home: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    runtime = home / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}  # a user manager needs a runtime dir
    result = subprocess.run(["systemd-analyze", *(["--user"] if user else []), "verify", str(unit)],
                            capture_output=True, text=True, timeout=60, env=env)
    # systemd only warns about unknown keys and bad values ("..., ignoring"): any line naming the unit fails too
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if unit.name in line]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr


def test_system_unit_passes_systemd_analyze_verify(tmp_path: Path, isolated_env: Path) -> None:
    """verify insists that ExecStart exists, so the copy points at this tree's .venv instead of /opt/tether."""
    unit = tmp_path / "tether.service"
    unit.write_text(UNIT.read_text().replace(INSTALLED_ROOT, str(ROOT)))
    if not (ROOT / ".venv" / "bin" / "tether").exists():
        pytest.skip("no .venv/bin/tether to point ExecStart at")
    _verify(unit, user=False, home=isolated_env)


def test_verify_would_catch_a_broken_unit(tmp_path: Path, isolated_env: Path) -> None:
    unit = tmp_path / "tether.service"
    unit.write_text(
        UNIT.read_text().replace(INSTALLED_ROOT, str(ROOT)).replace("Restart=on-failure", "Restart=on-falure")
    )
    with pytest.raises(AssertionError, match="restart"):
        _verify(unit, user=False, home=isolated_env)


def test_readme_user_install_makes_a_valid_user_unit(isolated_env: Path) -> None:
    """Runs the README's own sed line (in the source tree, with the test's HOME) and verifies what it writes."""
    text = README.read_text()
    section = text.split("## Installing on a studio machine", 1)[1].split("\n## ", 1)[0]
    (line,) = [ln.strip() for ln in section.splitlines() if ln.strip().startswith("sed ") and "systemd/user" in ln]
    (isolated_env / ".config" / "systemd" / "user").mkdir(parents=True)
    subprocess.run(["bash", "-c", line], cwd=ROOT, check=True, env={**os.environ, "HOME": str(isolated_env)})
    unit = isolated_env / ".config" / "systemd" / "user" / "tether.service"
    parsed = _unit(unit.read_text())
    service = parsed["Service"]
    assert service["ExecStart"] == f"{ROOT}/.venv/bin/tether serve"
    assert not {"User", "Group", "SupplementaryGroups", "StateDirectory", "ProtectHome"} & set(service)
    assert service["Restart"] == "on-failure" and parsed["Install"]["WantedBy"] == "default.target"
    assert not re.search(r"/etc/tether|/opt/tether|/var/lib", "\n".join(f"{k}={v}" for k, v in service.items()))
    if not (ROOT / ".venv" / "bin" / "tether").exists():
        pytest.skip("no .venv/bin/tether for ExecStart")
    _verify(unit, user=True, home=isolated_env)
