"""The control panel in a real browser against a real ``tether serve`` on the simulated camera.

One server (480x320 live view) serves the tests of this module: live view, a pre-scan and a sweep
watched by a second browser, refocus by a tap, a range stack downloaded, the gallery. The last three
each open a burst of their own (see ``burst``), so every test runs alone or in any order.
Each test also saves a screenshot of its page (see ``shot``: the README's come from here).
"""
from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pytest
import requests
from playwright.sync_api import Page

if TYPE_CHECKING:
    from tests.web.browser.conftest import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]


def shot(page: Page, name: str) -> None:
    """Screenshot of the page: into test-artifacts/screenshots/, or with TETHER_SCREENSHOTS=docs into
    docs/screenshots/ for the README (so an ordinary test run leaves the repository unchanged)."""
    folder = ROOT / ("docs" if os.environ.get("TETHER_SCREENSHOTS") == "docs" else "test-artifacts") / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.jpg"), type="jpeg", quality=82)


def frame_signature(page: Page) -> float:
    """A number that changes when the live-view <img> shows a new frame (mean of a drawn copy)."""
    return page.evaluate("""() => {
        const img = document.querySelector('#live-img');
        const c = document.createElement('canvas'); c.width = 64; c.height = 48;
        const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0, 64, 48);
        const d = ctx.getImageData(0, 0, 64, 48).data; let s = 0;
        for (let i = 0; i < d.length; i += 4) s += d[i] * 3 + d[i + 1] * 5 + d[i + 2] * 7;
        return s;
    }""")


def test_live_view_frames_arrive(server: Server, new_page: Callable[..., Page]) -> None:
    page = new_page()
    page.goto(f"{server.url}/")
    page.wait_for_function("document.querySelector('#live-img').naturalWidth === 480")
    page.wait_for_selector("#connection[data-state=connected]")
    assert "Simulated camera" in page.inner_text("#sim-notice")
    # several different frames within a few seconds (the simulator's sensor noise changes every frame)
    signatures = set()
    deadline = time.monotonic() + 8
    while len(signatures) < 3 and time.monotonic() < deadline:
        signatures.add(frame_signature(page))
        page.wait_for_timeout(200)
    assert len(signatures) >= 3, "the live view did not change"
    page.wait_for_selector("#settings .setting")  # settings panel generated from the descriptors
    page.wait_for_function("document.querySelector('#liveview-fps').textContent !== '– fps'")
    page.check("#toggle-peaking")
    page.click("#live-img", position={"x": 200, "y": 150})  # the 100 % loupe
    page.wait_for_selector("#loupe:not([hidden])")
    page.wait_for_timeout(600)
    shot(page, "camera")
    page.click("#live-img", position={"x": 200, "y": 150})
    page.wait_for_selector("#loupe", state="hidden")


def finished_job(server: Server, started: requests.Response, timeout: float = 90) -> dict[str, Any]:
    """The job a POST started, once it is done (an AssertionError if it fails or takes too long)."""
    assert started.status_code == 202, started.text
    url = f"{server.url}/api/jobs/{started.json()['job']}"
    deadline = time.monotonic() + timeout
    while (job := requests.get(url, timeout=10).json())["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, f"job still {job['state']} after {timeout} s"
        time.sleep(0.2)
    assert job["state"] == "done", job
    return job


@pytest.fixture(scope="module")
def swept(server: Server) -> str:
    """The id of a burst swept once per module as the panel sweeps: a pre-scan, then 14 frames over the
    range it found, through the REST API. Tests never open it; each gets a copy (``burst``)."""
    camera = f"{server.url}/api/cameras/sim:macro"
    prescan = finished_job(server, requests.post(f"{camera}/prescan", json={}, timeout=10))
    sweep = requests.post(f"{camera}/sweep", json={"range": prescan["result"]["range"], "frames": 14}, timeout=10)
    finished_job(server, sweep)
    return str(sweep.json()["burst"])


@pytest.fixture
def burst(server: Server, swept: str) -> str:
    """A burst of this test's own: the module's swept burst copied under a new id into the server's data
    dir, so what one test derives from it (refocus map, stacks) is not what another test finds."""
    bursts = server.data_dir / "bursts"
    burst_id = f"{swept}-{secrets.token_hex(3)}"
    shutil.copyfile(bursts / f"{swept}.burst", bursts / f"{burst_id}.burst")
    return burst_id


def test_prescan_and_sweep_seen_by_a_second_browser(server: Server, new_page: Callable[..., Page]) -> None:
    first, second = new_page(), new_page()
    for page in (first, second):
        page.goto(f"{server.url}/postfocus")
        page.wait_for_selector("#connection[data-state=connected]")
    first.click("#prescan")
    first.wait_for_selector("#prescan[disabled]")  # this pre-scan's curves, not those the server remembers
    first.wait_for_selector("#curves[data-ready=true]", timeout=60_000)
    near, far = int(first.input_value("#range-near")), int(first.input_value("#range-far"))
    assert 0 <= near < far
    assert "frames" in first.inner_text("#frame-plan")
    first.fill("#frames", "14")
    first.click("#sweep")
    # the second browser follows the sweep it did not start
    second.wait_for_selector("#sweep-progress:not([hidden])", timeout=20_000)
    # what the second browser tries meanwhile is refused with a message, not queued silently
    second.click("#prescan")
    assert "busy" in second.wait_for_selector(".toast.error").inner_text()
    first.wait_for_selector("#sweep-frames figure", timeout=30_000)
    first.wait_for_selector("#open-refocus", timeout=90_000)
    assert float(first.get_attribute("#sweep-bar", "data-fraction")) == 1.0
    second.wait_for_selector("#open-refocus", timeout=10_000)
    assert float(second.get_attribute("#sweep-bar", "data-fraction")) == 1.0
    assert second.get_attribute("#open-refocus", "href") == first.get_attribute("#open-refocus", "href")
    shot(first, "postfocus")


def truth(burst_id: str, server: Server) -> tuple[tuple[float, float], tuple[float, float], int]:
    """From the simulator's ground truth: a point well inside the coin, one on the far cork board
    (fractions of the picture), and the burst frame focused nearest to the coin."""
    from tether.camera.sim import SceneTruth

    truth = SceneTruth("macro")
    masks = truth.masks((480, 320))

    def inside(name: str) -> tuple[float, float]:
        padded = np.pad(masks[name].astype(np.uint8), 1)  # the picture's edge counts as outside
        depth_inside = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
        row, col = np.unravel_index(int(np.argmax(depth_inside)), depth_inside.shape)
        return (col + 0.5) / 480, (row + 0.5) / 320

    target = next(o.focus_position for o in truth.objects if o.name == "coin")
    frames = requests.get(f"{server.url}/api/bursts/{burst_id}", timeout=10).json()["frames"]
    best = min(frames, key=lambda f: abs(f["focus_position"] - target))["index"]
    return inside("coin"), inside("cork board"), best


def picture_box(page: Page, selector: str) -> dict[str, float]:
    """Where an <img> with object-fit: contain shows its picture, in page coordinates."""
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not shown"
    w0, h0 = page.eval_on_selector(selector, "img => [img.naturalWidth, img.naturalHeight]")
    scale = min(box["width"] / w0, box["height"] / h0)
    width, height = w0 * scale, h0 * scale
    return {"x": box["x"] + (box["width"] - width) / 2, "y": box["y"] + (box["height"] - height) / 2,
            "width": width, "height": height}


def test_tap_shows_the_frame_sharpest_there(server: Server, new_page: Callable[..., Page], burst: str) -> None:
    (fx, fy), (bx, by), expected = truth(burst, server)
    page = new_page(viewport={"width": 1000, "height": 760}, has_touch=True)
    page.goto(f"{server.url}/refocus/{burst}")
    page.wait_for_selector("#stage[data-ready=true]", timeout=60_000)
    box = picture_box(page, "#frame")
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    # the answer, or the message that says why there is none
    page.wait_for_function("document.querySelector('#frame').dataset.tapFrame !== undefined"
                           " || document.querySelector('.toast') !== null")
    assert page.get_attribute("#frame", "data-tap-frame") is not None, page.inner_text("#toasts")
    page.wait_for_function(
        "document.querySelector('#frame').dataset.index === document.querySelector('#frame').dataset.tapFrame")
    shown = int(page.get_attribute("#frame", "data-index"))
    assert abs(shown - expected) <= 1, f"tapped the coin: showed frame {shown}, sharpest is {expected}"
    assert int(page.input_value("#scrubber")) == shown
    # touch: a tap on the far cork board picks a later frame than the coin
    page.touchscreen.tap(box["x"] + bx * box["width"], box["y"] + by * box["height"])
    page.wait_for_function(f"document.querySelector('#frame').dataset.index !== '{shown}'")
    assert int(page.get_attribute("#frame", "data-index")) > shown
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    page.wait_for_function(f"document.querySelector('#frame').dataset.index === '{shown}'")
    shot(page, "refocus")


def test_range_stack_is_exported_and_downloaded(server: Server, new_page: Callable[..., Page], burst: str,
                                                tmp_path: Path) -> None:
    page = new_page()
    page.goto(f"{server.url}/stack/{burst}")
    page.wait_for_function("document.querySelector('#single').naturalWidth > 0")
    # a range from two taps: the near coin and the far cork board
    (cx, cy), (bx, by), coin_frame = truth(burst, server)
    page.click("#pick-points")
    page.wait_for_function("document.querySelector('#stack-status').textContent.includes('nearest point')")
    box = picture_box(page, "#single")
    page.mouse.click(box["x"] + cx * box["width"], box["y"] + cy * box["height"])
    page.wait_for_function("document.querySelector('#stack-status').textContent.includes('farthest')")
    page.mouse.click(box["x"] + bx * box["width"], box["y"] + by * box["height"])
    page.wait_for_function("document.querySelector('#stack-status').textContent.includes('range set')")
    first, last = int(page.input_value("#range-first")), int(page.input_value("#range-last"))
    assert abs(first - coin_frame) <= 1 and last > first + 3, (first, last, coin_frame)
    page.check("input[name=extent][value=range]")
    page.eval_on_selector("#range-first", "el => { el.value = 3; el.dispatchEvent(new Event('input')); }")
    page.eval_on_selector("#range-last", "el => { el.value = 9; el.dispatchEvent(new Event('input')); }")
    page.click("#stack")
    page.wait_for_selector("#download:not([hidden])", timeout=60_000)
    assert float(page.get_attribute("#stack-bar", "data-fraction")) == 1.0
    assert "frames 4–10" in page.inner_text("#result-caption")
    page.wait_for_function("document.querySelector('#result').naturalWidth > 0")
    page.wait_for_timeout(300)  # let the progress bar's transition finish for the screenshot
    shot(page, "stack")
    with page.expect_download() as info:
        page.click("#download")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    image = cv2.imdecode(np.frombuffer(saved.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[1] == 480
    page.click("#show-depth")
    page.wait_for_function("document.querySelector('#result').src.includes('depthmap.png')")


def test_gallery_lists_the_burst(server: Server, new_page: Callable[..., Page], burst: str) -> None:
    page = new_page()
    page.goto(f"{server.url}/bursts")
    card = page.wait_for_selector(f"[data-burst='{burst}']")
    assert card is not None
    count = requests.get(f"{server.url}/api/bursts/{burst}", timeout=10).json()["frame_count"]
    assert count >= 10 and f"{count} frames" in card.inner_text()
    page.wait_for_function(f"document.querySelector(\"[data-burst='{burst}'] img\").naturalWidth > 0")
    shot(page, "bursts")


def test_a_title_being_typed_survives_another_browsers_change(server: Server, new_page: Callable[..., Page],
                                                              burst: str, swept: str) -> None:
    other = f"{swept}-{secrets.token_hex(3)}"
    shutil.copyfile(server.data_dir / "bursts" / f"{swept}.burst", server.data_dir / "bursts" / f"{other}.burst")
    page = new_page()
    page.goto(f"{server.url}/bursts")
    card = page.locator(f"[data-burst='{burst}']")
    card.locator("button", has_text="Rename / notes").click()
    card.locator("[name=title]").fill("Coin, obverse")
    # another browser names the other burst: the gallery shows it, and the edit here is left alone
    assert requests.patch(f"{server.url}/api/bursts/{other}", json={"title": "Cork board"}, timeout=10).ok
    page.wait_for_selector(f"[data-burst='{other}'] h3 >> text=Cork board")
    assert card.locator("[name=title]").input_value() == "Coin, obverse"
    assert page.evaluate("document.activeElement.name") == "title"
    card.locator("button[type=submit]").click()
    page.wait_for_selector(f"[data-burst='{burst}'] h3 >> text=Coin, obverse")
    assert card.locator("form.labels").is_hidden()
