"""udev/tether-worker.service: a worker started at boot, unprivileged, and systemd's own verdict on it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
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


def test_without_a_broker_a_worker_says_what_to_set_and_a_batch_stacks_here_without_celery(tmp_path: Path,
                                                                                           run_tether) -> None:
    from tests.cluster.conftest import write_bursts
    from tests.imaging.conftest import make_stack

    refused = run_tether("--data-dir", str(tmp_path), "worker")
    assert refused.returncode == 1
    assert "no broker configured: set [cluster] broker in the config file" in refused.stderr

    write_bursts(tmp_path / "in", 2)
    (tmp_path / "in" / "sku7").mkdir()  # a folder of images is an item too
    for i, frame in enumerate(make_stack(3, (60, 80)).frames):
        cv2.imwrite(str(tmp_path / "in" / "sku7" / f"IMG_{i}.jpg"), frame)
    script = ("import sys; from tether.cli.main import cli\n"
              "try:\n    cli(['batch', sys.argv[1]])\nexcept SystemExit as end:\n    assert not end.code, end.code\n"
              "assert 'celery' not in sys.modules and 'redis' not in sys.modules, 'the cluster was loaded'\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "in")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "3 stacked" in done.stdout and len(list((tmp_path / "in").glob("*-stack-*.jpg"))) == 3
    # a result inside the folder of images is not taken for one of its frames
    again = run_tether("--data-dir", str(tmp_path), "batch", "--out-dir", str(tmp_path / "in" / "sku7"),
                       str(tmp_path / "in" / "sku7"), check=True)
    assert "1 stacked" in again.stdout
    assert "1 skipped" in run_tether("--data-dir", str(tmp_path), "batch", "--skip-done", "--out-dir",
                                     str(tmp_path / "in" / "sku7"), str(tmp_path / "in" / "sku7"), check=True).stdout


def test_an_unreadable_burst_fails_alone_and_names_no_result(tmp_path: Path, run_tether) -> None:
    from tests.cluster.conftest import write_bursts

    write_bursts(tmp_path / "in", 2)
    (tmp_path / "in" / "empty.burst").write_bytes(b"")  # a copy that never finished
    done = run_tether("--data-dir", str(tmp_path), "batch", "--json", str(tmp_path / "report.json"),
                      str(tmp_path / "in"))
    assert done.returncode == 1
    assert "2 stacked, 1 failed" in done.stdout
    assert done.stderr.strip().endswith("empty.burst: the file is empty")
    rows = {r["item"]: r for r in json.loads((tmp_path / "report.json").read_text())["items"]}
    assert rows["empty.burst"]["status"] == "failed" and rows["empty.burst"]["output"] == ""
    written = {p.name for p in (tmp_path / "in").glob("*-stack-*.jpg")}
    assert {r["output"] for r in rows.values() if r["status"] == "stacked"} == written and len(written) == 2
