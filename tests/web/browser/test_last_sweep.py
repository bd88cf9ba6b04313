"""A reloaded Post Focus page shows the camera's last sweep again, from what the server keeps (not from the
page's memory): its status, frame strip, stack preview, and the range and frames it was asked for; after a
server restart too. A real browser against a real ``tether serve``."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, ViewportSize

from tests.web.browser.conftest import start_server, stop_server_process
from tests.web.browser.test_panel import finished_job
from tests.web.browser.test_panel_a import sweep_from_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FRAMES = 12
PHONE: ViewportSize = {"width": 390, "height": 844}


def shows_last_sweep(page: Page, burst: str) -> None:
    """The page shows the sweep into ``burst`` of FRAMES frames over 20-200, as asked, with its preview."""
    page.wait_for_selector(f"#sweep-status >> text=Sweep: done — {FRAMES} frames", timeout=20_000)
    assert page.locator("#sweep-frames figcaption").all_inner_texts() == [str(n) for n in range(1, FRAMES + 1)]
    page.wait_for_function("[...document.querySelectorAll('#sweep-frames img, #stack-preview-img')]"
                           ".every(i => i.complete && i.naturalWidth)")
    assert page.is_visible("#stack-preview-img")
    assert page.inner_text("#stack-preview-caption") == f"Stack of the {FRAMES} frames (a preview)"
    assert [page.input_value(s) for s in ("#range-near", "#range-far", "#frames")] == ["20", "200", str(FRAMES)]
    assert page.get_attribute("#open-refocus", "href") == f"/refocus/{burst}"
    assert page.get_attribute("#sweep-bar", "data-fraction") == "1"
    # and the plan for sweeping that range again
    page.wait_for_function(f"document.querySelector('#frame-plan').dataset.frames === '{FRAMES}'")


def test_a_reload_and_a_restart_show_the_last_sweep_again(tmp_path: Path, new_page: Callable[..., Page]) -> None:
    base = tmp_path / "serve"
    server = start_server(base)
    try:
        # a pre-scan first: its range (not the one swept) is what a reload used to show
        finished_job(server, requests.post(f"{server.url}/api/cameras/sim:macro/prescan", json={}, timeout=10), 120)
        page = sweep_from_page(server, new_page, 20, 200, FRAMES)
        page.wait_for_selector("#open-refocus", timeout=90_000)
        burst = str(page.get_attribute("#open-refocus", "href")).removeprefix("/refocus/")
        page.reload()
        page.wait_for_selector("#connection[data-state=connected]")
        shows_last_sweep(page, burst)

        stop_server_process(server.process)
        server = start_server(base, port=server.port)
        phone = new_page(viewport=PHONE)
        phone.goto(f"{server.url}/postfocus")
        shows_last_sweep(phone, burst)
        # on a phone the preview fits the screen
        box = phone.locator("#stack-preview-img").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    finally:
        stop_server_process(server.process)
