"""udev/tether-worker.service: a worker started at boot, unprivileged, and systemd's own verdict on it."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.ops.test_service_unit import INSTALLED_ROOT, ROOT, _unit, _verify
from tether.cluster.worker import capacity

UNIT = ROOT / "udev" / "tether-worker.service"


def test_unit_runs_the_worker_unprivileged_and_restarts() -> None:
    service = _unit(UNIT.read_text())["Service"]
    assert service["ExecStart"] == f"{INSTALLED_ROOT}/.venv/bin/tether worker --config /etc/tether/config.toml"
    assert service["Restart"] == "on-failure" and service["User"] == "tether"
    assert service["KillMode"] == "mixed"  # SIGTERM to Celery's main process only: a warm shutdown


def test_unit_passes_systemd_analyze_verify(tmp_path: Path, isolated_env: Path) -> None:
    if not (ROOT / ".venv" / "bin" / "tether").exists():
        pytest.skip("no .venv/bin/tether to point ExecStart at")
    unit = tmp_path / "tether-worker.service"
    unit.write_text(UNIT.read_text().replace(INSTALLED_ROOT, str(ROOT)))
    _verify(unit, user=False, home=isolated_env)


@pytest.mark.parametrize(("cores", "available_mb", "megapixels", "tasks"), [
    (8, 64000, 24.0, 8),     # plenty of memory: one task a core
    (8, 4000, 24.0, 5),      # 720 MB a 24 MP stack: memory decides
    (2, 500, 24.0, 1),       # never fewer than one
])
def test_a_worker_runs_as_many_stacks_as_cores_and_memory_allow(cores, available_mb, megapixels, tasks) -> None:
    cap = capacity(frame_megapixels=megapixels, cores=cores, available_mb=available_mb)
    assert cap.concurrency == tasks
    assert cap.task_memory_mb >= 30 * megapixels  # each task may take what a stack needs
