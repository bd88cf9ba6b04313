"""The control panel of a server with ``[cluster] broker``: its stack runs on a worker, shows its progress and
is cancelled from the page, as a local one; its refocus maps and exports run on the worker too."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page

from tests.cluster.conftest import write_bursts, write_config
from tests.web.browser.conftest import start_server, stop_server_process
from tests.web.browser.test_panel import finished_job

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_stack_on_a_worker_shows_its_progress_in_the_panel_and_is_cancelled_from_it(
        tmp_path: Path, redis_server, start_workers, new_page: Callable[..., Page]) -> None:
    base = tmp_path / "serve"
    data = base / "data"
    # big enough to be still running when the first progress reaches the page
    write_bursts(data / "bursts", 1, frames=6, shape=(720, 960))
    [worker] = start_workers(write_config(tmp_path / "worker.toml", data, redis_server.url), "w1")
    server = start_server(base, sim=f'\n[cluster]\nbroker = "{redis_server.url}"\n')
    try:
        page = new_page()
        page.goto(f"{server.url}/stack/b000")
        page.wait_for_function("document.querySelector('#single').naturalWidth > 0")
        page.click("#stack")
        page.wait_for_function("Number(document.querySelector('#stack-bar').dataset.fraction) > 0", timeout=60_000)
        [job] = [j for j in requests.get(f"{server.url}/api/state", timeout=10).json()["jobs"]
                 if j["job_kind"] == "stack"]
        assert job["state"] == "running" and job["subject"] == "b000"
        worker.wait_for(f"tether.engine-job[{job['job']}] received")  # it is the worker's, not the server's

        page.click("#stack-cancel")
        page.wait_for_selector("#stack-cancel", state="hidden")
        assert requests.get(f"{server.url}/api/jobs/{job['job']}", timeout=10).json()["state"] == "cancelled"
        worker.wait_for(f"Terminating {job['job']}")  # the process stacking it was ended
        assert not list((data / "exports").glob("b000-stack*"))

        # the server's other jobs go to the worker too: a refocus map (kept in the burst, where the
        # server's taps then find it) and an export (in exports/, announced to the panel)
        mapped = finished_job(server, requests.post(f"{server.url}/api/bursts/b000/refocus-map", timeout=10))
        worker.wait_for(f"tether.engine-job[{mapped['job']}] succeeded")
        tap = requests.get(f"{server.url}/api/bursts/b000/refocus?x=0.5&y=0.5", timeout=10).json()
        assert tap["frame"] in range(6)
        saved = finished_job(server, requests.post(f"{server.url}/api/bursts/b000/export",
                                                   json={"format": "frame", "frame": 2}, timeout=10))
        worker.wait_for(f"tether.engine-job[{saved['job']}] succeeded")
        assert (data / "exports" / saved["result"]["name"]).is_file()
    finally:
        stop_server_process(server.process)
