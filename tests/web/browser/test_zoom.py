"""Issue 18 item 4, zoom that a retoucher trusts: wheel zoom on a desktop and pinch zoom on a phone reach
400 % on the Refocus picture, and what is then on screen is a tile of the full-resolution frame, with
more of the camera's pixels than the reduced overview the page first loaded; the Stack page shows the
stack and a source frame side by side at 100 %.

A real ``tether serve`` and Chromium; the burst is written into the server's data dir: 1800x1200
frames, which the pages show at half size.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pytest
import requests
from playwright.sync_api import Page

from tests.web.browser.test_panel import picture_box
from tests.web.browser.test_panel_b_defects import PHONE
from tether.burst import BurstWriter, FrameMeta

if TYPE_CHECKING:
    from tests.web.browser.conftest import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTH, HEIGHT = 1800, 1200


def frames() -> list[np.ndarray]:
    """Three frames of fine texture (single-pixel detail that a half-size overview cannot show)."""
    rng = np.random.default_rng(18)
    base = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    return [cv2.GaussianBlur(base, (0, 0), sigma) if sigma else base for sigma in (0, 1.5, 3.0)]


@pytest.fixture(scope="module")
def big_burst(server: Server) -> str:
    burst_id = time.strftime("%Y%m%d-%H%M%S") + "-200a00"
    with BurstWriter.create(server.data_dir / "bursts" / f"{burst_id}.burst", camera={"model": "test"},
                            sweep={"mode": "stills"}, fsync=False) as writer:
        for k, image in enumerate(frames()):
            writer.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes(),
                          FrameMeta(focus_position=50 * k, source="still"))
    return burst_id


def zoomed_tile(page: Page, frame: str = "#stage") -> dict[str, Any]:
    """The full-resolution tile on screen once the zoom has settled: its box (full-resolution pixels),
    reduction, decoded size, and its size on screen."""
    page.wait_for_selector(f"{frame}[data-tile=ready] .zoom-tile:not([hidden])")
    return page.eval_on_selector(f"{frame} .zoom-tile", """t => ({box: JSON.parse(t.dataset.box),
        reduce: Number(t.dataset.reduce), natural: [t.naturalWidth, t.naturalHeight], src: t.src,
        shown: [t.getBoundingClientRect().width, t.getBoundingClientRect().height]})""")


def overview_density(page: Page, selector: str) -> float:
    """Overview pixels per full-resolution pixel of the picture the page loaded."""
    return page.eval_on_selector(selector, "img => img.naturalWidth") / WIDTH


def assert_full_resolution(tile: dict[str, Any], overview: float, percent: float) -> None:
    box = tile["box"]
    assert tile["reduce"] == 1 and tile["natural"] == [box["width"], box["height"]]
    assert tile["natural"][0] / box["width"] > overview  # more of the camera's pixels than the overview
    assert tile["shown"][0] == pytest.approx(box["width"] * percent / 100, rel=0.05)
    # the tile is that part of the frame (JPEG re-encoded)
    got = cv2.imdecode(np.frombuffer(requests.get(tile["src"], timeout=10).content, np.uint8), cv2.IMREAD_COLOR)
    sharp = frames()[int(tile["src"].split("/frames/")[1].split("/")[0])]
    crop = sharp[box["top"]:box["top"] + box["height"], box["left"]:box["left"] + box["width"]]
    assert cv2.PSNR(got, crop) > 30


def shown(page: Page) -> None:
    page.wait_for_function("() => document.querySelector('#frame').dataset.index === '1'")


def test_wheel_zoom_to_400_percent_shows_the_full_resolution_frame(server: Server, new_page: Callable[..., Page],
                                                                   big_burst: str) -> None:
    page = new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{server.url}/refocus/{big_burst}")
    shown(page)
    overview = overview_density(page, "#frame")
    assert overview == 0.5
    pic = picture_box(page, "#frame")
    page.mouse.move(pic["x"] + pic["width"] * 0.3, pic["y"] + pic["height"] * 0.6)
    for _ in range(12):
        page.mouse.wheel(0, -400)
    page.wait_for_function("() => document.querySelector('#zoom-label').textContent === '400 %'")
    assert_full_resolution(zoomed_tile(page), overview, 400)
    page.click("#zoom-fit")
    page.wait_for_function("() => document.querySelector('#zoom-label').textContent === 'fit'")
    assert page.locator("#stage .zoom-tile").is_hidden()


def test_pinch_zoom_on_a_phone_shows_the_full_resolution_frame(server: Server, new_page: Callable[..., Page],
                                                               big_burst: str) -> None:
    page = new_page(**PHONE)
    page.goto(f"{server.url}/refocus/{big_burst}")
    shown(page)
    overview = overview_density(page, "#frame")
    pic = picture_box(page, "#frame")
    cx, cy = pic["x"] + pic["width"] / 2, pic["y"] + pic["height"] / 2
    touch = page.context.new_cdp_session(page)
    # two fingers from 20 to 380 px apart: a 19x pinch, from about 22 % (the fitted picture) past 400 %
    spread = [20 + 20 * k for k in range(19)]
    touch.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [
        {"x": cx - 10, "y": cy, "id": 1}, {"x": cx + 10, "y": cy, "id": 2}]})
    for d in spread[1:]:
        touch.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
            {"x": cx - d / 2, "y": cy, "id": 1}, {"x": cx + d / 2, "y": cy, "id": 2}]})
    touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.wait_for_function("() => document.querySelector('#zoom-label').textContent === '400 %'")
    assert_full_resolution(zoomed_tile(page), overview, 400)


def test_the_stack_and_a_source_frame_side_by_side_at_100_percent(server: Server, new_page: Callable[..., Page],
                                                                  big_burst: str) -> None:
    page = new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{server.url}/stack/{big_burst}")
    page.wait_for_function("() => document.querySelector('#single').naturalWidth > 0")
    page.click("#stack")
    page.wait_for_selector("#result:not([hidden])", timeout=60_000)
    page.wait_for_function("() => document.querySelector('#result').complete")
    page.click("#zoom-100")
    page.wait_for_function("""() => [...document.querySelectorAll('.zoom-frame, .stage')]
        .filter(f => f.querySelector('#single, #result')).every(f => f.dataset.zoom === '100')""")
    single = zoomed_tile(page, ".zoom-frame:has(#single)")
    stack = zoomed_tile(page, ".zoom-frame:has(#result)")
    # the same part of the picture, each at one picture pixel to a screen pixel
    assert single["box"] == stack["box"] and single["reduce"] == stack["reduce"] == 1
    assert single["natural"] == stack["natural"] == [single["box"]["width"], single["box"]["height"]]
    assert "/exports/" in stack["src"] and "/frames/1/" in single["src"]
