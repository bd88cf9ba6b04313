"""The Post Focus page shows the stack building up during a sweep, in the final stack's framing,
and the sweep ends with Refocus ready (a real browser against a real ``tether serve``)."""
from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pytest
import requests
from playwright.sync_api import Page

if TYPE_CHECKING:
    from tests.web.browser.conftest import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FRAMES = 16


def _image(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None
    return image.astype(np.float32)


def test_the_stack_builds_up_during_the_sweep_in_the_final_stacks_framing(server: Server,
                                                                           new_page: Callable[..., Page]) -> None:
    page = new_page()
    page.goto(f"{server.url}/postfocus")
    page.wait_for_selector("#connection[data-state=connected]")
    # every picture the page shows in the preview, as it shows it
    page.evaluate("""() => {
        window.previews = [];
        const img = document.querySelector('#stack-preview-img');
        new MutationObserver(() => img.src && window.previews.push(
            {frames: Number(document.querySelector('#stack-preview').dataset.frames), src: img.src}))
            .observe(img, {attributes: true, attributeFilter: ['src']});
    }""")
    assert page.is_hidden("#stack-preview")  # nothing before a sweep
    page.fill("#range-near", "40")
    page.fill("#range-far", "160")
    page.fill("#frames", str(FRAMES))
    page.click("#sweep")
    page.wait_for_selector("#stack-preview:not([hidden])", timeout=60_000)
    page.wait_for_selector("#open-refocus", timeout=120_000)  # the sweep's job is done
    previews: list[dict[str, Any]] = page.evaluate("window.previews")
    frames = [p["frames"] for p in previews]
    # it grew while the frames came, and its last picture holds them all
    assert len(previews) >= 2 and frames == sorted(frames) and frames[0] < frames[-1] == FRAMES
    pictures = [_image(base64.b64decode(p["src"].split(",", 1)[1])) for p in previews]
    assert float(np.mean(np.abs(pictures[0] - pictures[-1]))) > 1.0
    assert page.inner_text("#stack-preview-caption") == f"Stack so far: {FRAMES} frames"

    # Refocus is ready when the sweep ends: no "Preparing refocus" job
    burst = page.get_attribute("#open-refocus", "href").rsplit("/", 1)[1]
    prepared = requests.post(f"{server.url}/api/bursts/{burst}/refocus-map", timeout=10)
    assert prepared.status_code == 200, prepared.text

    # the full stack, shrunk to the preview's size, lies on the last preview
    started = requests.post(f"{server.url}/api/bursts/{burst}/stack", json={}, timeout=10)
    assert started.status_code == 202, started.text
    job = page.evaluate("""async (id) => {  // the page's own view of the job, until it ends
        for (;;) {
            const job = await (await fetch(`/api/jobs/${id}`)).json();
            if (job.state !== 'queued' && job.state !== 'running') return job;
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
    }""", started.json()["job"])
    assert job["state"] == "done", job
    export = job["result"]["export"]
    stacked = _image(requests.get(f"{server.url}/api/exports/{export}", timeout=30).content)
    last = pictures[-1]
    stacked = cv2.resize(stacked, (last.shape[1], last.shape[0]), interpolation=cv2.INTER_AREA)
    assert float(np.corrcoef(stacked.ravel(), last.ravel())[0, 1]) > 0.9
    (dx, dy), _ = cv2.phaseCorrelate(stacked, last)
    assert np.hypot(dx, dy) < 1.0
