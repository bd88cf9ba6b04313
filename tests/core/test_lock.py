"""The installed Python packages are exactly the locked ones: a fresh machine runs what CI tested."""
from __future__ import annotations

import importlib.metadata
import os
import re
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")

pytestmark = pytest.mark.skipif(bool(os.environ.get("TETHER_UNLOCKED")),
                                reason="make test-latest runs the newest releases on purpose, not the lock")


def locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        match = PIN.match(line)
        if match:
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def installed() -> dict[str, str]:
    return {canonicalize_name(dist.metadata["Name"]): dist.version for dist in importlib.metadata.distributions()}


def test_every_locked_package_is_installed_at_its_locked_version() -> None:
    have = installed()
    wrong = {name: (version, have.get(name)) for name, version in locked().items() if have.get(name) != version}
    assert not wrong, f"installed versions differ from {LOCK.name} (name: (locked, installed)): {wrong}"


def test_nothing_is_installed_beside_the_lock() -> None:
    extra = set(installed()) - set(locked()) - {"tether"}
    assert not extra, f"installed but not in {LOCK.name}: {sorted(extra)}"


def test_every_pin_carries_a_hash() -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text())
    pinned = [block for block in blocks if PIN.match(block)]
    assert pinned and all("--hash=sha256:" in block for block in pinned)


def test_every_dependency_of_the_project_is_locked() -> None:
    requirements = importlib.metadata.requires("tether") or []
    names = {canonicalize_name(re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0]) for req in requirements}
    assert names <= set(locked()), f"not in the lock: {sorted(names - set(locked()))}"
