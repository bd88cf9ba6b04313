"""The Depth page and the living picture in a real browser against a real ``tether serve`` on the simulated camera.

The preview follows the aperture slider (the background blurs more at a smaller f-number), a depth range picked
by a tap changes only what the scene's depth truth puts in that range, and the living picture, opened from
file:// with the network cut off, shows at a tap on each object the frame ``tether refocus`` picks there.
"""
from __future__ import annotations

import base64
import contextlib
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest
import requests
from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.web.browser import test_panel
from tests.web.browser.test_panel import finished_job, picture_box, shot
from tether.burst import BurstWriter, open_burst
from tether.engine.living import MAX_BYTES
from tether.numbering import frame_index

if TYPE_CHECKING:
    from tests.web.browser.conftest import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SIZE = (480, 320)  # the server's live view, so the bursts' frames (and the previews: smaller than the screen)

burst = test_panel.burst  # a copy per test of the module's burst


@pytest.fixture(scope="module")
def swept(server: Server) -> str:
    """14 frames over the scene truth's depth, from just before its nearest to past its farthest subject."""
    from tether.camera.sim import SceneTruth

    depths = [o.focus_position for o in SceneTruth("macro").objects]
    sweep = requests.post(f"{server.url}/api/cameras/sim:macro/sweep", timeout=10,
                          json={"range": [int(min(depths)) - 8, int(max(depths)) + 10], "frames": 14})
    finished_job(server, sweep)
    return str(sweep.json()["burst"])


def objects(server: Server, burst_id: str) -> dict[str, tuple[np.ndarray, tuple[int, int], int]]:
    """Per object of the scene: its mask, its deepest inside pixel (x, y) and the burst frame focused nearest it."""
    from tether.camera.sim import SceneTruth

    truth = SceneTruth("macro")
    masks = truth.masks(SIZE)
    frames = requests.get(f"{server.url}/api/bursts/{burst_id}", timeout=10).json()["frames"]
    out = {}
    for o in truth.objects:
        inside = cv2.distanceTransform(np.pad(masks[o.name].astype(np.uint8), 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
        row, col = np.unravel_index(int(np.argmax(inside)), inside.shape)
        frame = min(frames, key=lambda f: abs(f["focus_position"] - o.focus_position))["index"]
        out[o.name] = (masks[o.name], (int(col), int(row)), frame)
    return out


def open_depth(new_page: Callable[..., Page], server: Server, burst_id: str) -> Page:
    page = new_page(viewport={"width": 1100, "height": 900})
    page.goto(f"{server.url}/depth/{burst_id}")
    page.wait_for_selector("#stage[data-ready=true]", timeout=90_000)
    return page


def tap(page: Page, selector: str, point: tuple[float, float]) -> None:
    """A click at (x, y) pixels of the picture shown by the <img> ``selector``."""
    box = picture_box(page, selector)
    page.mouse.click(box["x"] + point[0] / SIZE[0] * box["width"], box["y"] + point[1] / SIZE[1] * box["height"])


def rendered(page: Page, after: int) -> np.ndarray:
    """The preview on screen once a render newer than the ``after``-th has arrived, as BGR pixels."""
    page.wait_for_function(f"Number(document.querySelector('#preview').dataset.renders || 0) > {after}")
    page.wait_for_timeout(300)  # a change made during that render is rendered next: let it arrive
    page.wait_for_function("""() => { const img = document.querySelector('#preview');
        return img.complete && img.naturalWidth > 0; }""")
    data = page.evaluate("""() => { const img = document.querySelector('#preview');
        const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
        c.getContext('2d').drawImage(img, 0, 0); return c.toDataURL('image/png'); }""")
    return cv2.imdecode(np.frombuffer(base64.b64decode(data.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)


def renders(page: Page) -> int:
    return int(page.get_attribute("#preview", "data-renders") or 0)


def slide(page: Page, selector: str, value: float) -> None:
    page.eval_on_selector(selector, f"el => {{ el.value = {value}; el.dispatchEvent(new Event('input')); }}")


def detail(image: np.ndarray, mask: np.ndarray) -> float:
    """Mean squared Laplacian over ``mask``: how much fine detail the picture has there."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return float((cv2.Laplacian(grey, cv2.CV_32F) ** 2)[mask].mean())


def inner(mask: np.ndarray, px: int) -> np.ndarray:
    return cv2.erode(mask.astype(np.uint8), np.ones((2 * px + 1, 2 * px + 1), np.uint8)).astype(bool)


def test_the_preview_blurs_the_background_more_at_a_smaller_f_number(server: Server, new_page: Callable[..., Page],
                                                                     burst: str) -> None:
    scene = objects(server, burst)
    page = open_depth(new_page, server, burst)
    before = renders(page)
    # focus in the middle of the scene: a wider aperture can blur what lies on either side of it (only as far
    # as the sweep reaches past it: at the nearest object, the farthest frames are as blurred as it gets)
    tap(page, "#preview", scene["stamp"][1])
    rendered(page, before)
    shot_at = float(page.input_value("#captured"))
    before = renders(page)
    slide(page, "#f-number", shot_at)
    as_shot = rendered(page, before)
    before = renders(page)
    slide(page, "#f-number", 0.7)
    wide = rendered(page, before)
    assert "f/0.7" in page.inner_text("#f-label")
    background = inner(scene["cork board"][0], 6)
    assert detail(wide, background) < 0.8 * detail(as_shot, background), "the background did not blur more"
    shot(page, "depth")


def test_an_f_number_the_burst_does_not_record_is_said_to_be_assumed(server: Server, new_page: Callable[..., Page],
                                                                    burst: str) -> None:
    page = open_depth(new_page, server, burst)
    assert page.is_hidden("#captured-assumed")  # the sweep recorded the f-number it was shot at
    assert float(page.input_value("#captured")) == 2.8
    # the same frames with no exposure recorded (as from a sweep before sweeps recorded it)
    bursts = server.data_dir / "bursts"
    bare = f"{burst}-bare"
    with open_burst(bursts / f"{burst}.burst") as reader:
        writer = BurstWriter.create(bursts / f"{bare}.burst", camera=reader.manifest["camera"],
                                    sweep=reader.manifest["sweep"])
        for i, meta in enumerate(reader.frames_meta()):
            writer.append(reader.frame_bytes(i), replace(meta, exposure={}, sha256=""))
        writer.close()
    page = open_depth(new_page, server, bare)
    assert "f/2.8 assumed" in page.inner_text("#captured-assumed")
    assert page.is_visible("#captured-assumed")


def test_a_depth_range_picked_by_a_tap_changes_only_that_range(server: Server, new_page: Callable[..., Page],
                                                              burst: str) -> None:
    scene = objects(server, burst)
    page = open_depth(new_page, server, burst)
    plain = rendered(page, 0).astype(int)
    page.check("input[name=tap][value=select]")
    page.select_option("#target", "subject")
    before = renders(page)
    tap(page, "#preview", scene["leaf"][1])
    page.wait_for_function("document.querySelector('#range-label').textContent.includes('selected')")
    slide(page, "#brightness", 1.5)
    lit = rendered(page, before).astype(int)
    near, far = float(page.input_value("#near")), float(page.input_value("#far"))
    feather = float(page.input_value("#feather"))
    leaf_frame = scene["leaf"][2]
    assert near <= leaf_frame + 1 and far >= leaf_frame - 1, (near, far, leaf_frame)
    change = np.abs(lit - plain).mean(axis=2)
    assert change[inner(scene["leaf"][0], 3)].mean() > 30
    for name, (mask, _, frame) in scene.items():
        if frame < near - feather - 1.5 or frame > far + feather + 1.5:  # well outside the range by the truth
            assert change[inner(mask, 6)].mean() < 1.5, f"{name} (frame {frame}) changed; range {near}-{far}"


def test_the_selection_is_named_by_whole_frame_numbers(server: Server, new_page: Callable[..., Page],
                                                        burst: str) -> None:
    page = open_depth(new_page, server, burst)
    slide(page, "#far", 7.9)
    slide(page, "#near", 3.4)
    # the selection's ends lie between frames 4 and 5 (from 1) and near frame 9: the label says which frames
    assert range_label(page, "frames 4–9 selected") == "frames 4–9 selected"
    slide(page, "#far", 3.4)
    assert range_label(page, "frame 4 selected") == "frame 4 selected"


def range_label(page: Page, expected: str) -> str:
    """The selection's label once it reads ``expected`` (it follows the renders), or as it stands after 5 s."""
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function("text => document.querySelector('#range-label').textContent === text", arg=expected,
                               timeout=5_000)
    return page.inner_text("#range-label")


def test_the_living_picture_refocuses_offline_as_tether_refocus_does(server: Server, new_page: Callable[..., Page],
                                                                      browser: Browser, burst: str,
                                                                      tmp_path: Path) -> None:
    scene = objects(server, burst)
    page = open_depth(new_page, server, burst)
    page.wait_for_selector("#living-estimate[data-bytes]")
    estimate = int(page.get_attribute("#living-estimate", "data-bytes") or 0)
    assert "MB" in page.inner_text("#living-estimate")
    page.click("#living-export")
    link = page.wait_for_selector("#living-status a", timeout=90_000)
    saved = tmp_path / "living.html"
    saved.write_bytes(requests.get(f"{server.url}{link.get_attribute('href')}", timeout=30).content)
    size = saved.stat().st_size
    assert size <= MAX_BYTES and 0.7 * estimate <= size <= 1.3 * estimate, (size, estimate)

    context = browser.new_context(offline=True, viewport={"width": 900, "height": 700}, has_touch=True)
    asked = []

    def refuse(route):  # type: ignore[no-untyped-def]
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            asked.append(route.request.url)
            route.abort()

    context.route("**/*", refuse)
    living = context.new_page()
    try:
        living.goto(saved.as_uri())
        living.wait_for_function("document.querySelector('#picture').dataset.frame === 'stack'")
        path = server.data_dir / "bursts" / f"{burst}.burst"
        for name, (_, (x, y), _) in scene.items():
            picked = subprocess.run(
                [sys.executable, "-m", "tether", "refocus", str(path), "--at", f"{x + 0.5},{y + 0.5}",
                 "--out", str(tmp_path / f"{name}.jpg")], capture_output=True, text=True, check=True)
            expected = re.match(r"frame (\d+)", picked.stdout)
            assert expected, picked.stdout
            tap(living, "#picture", (x + 0.5, y + 0.5))
            index = frame_index(int(expected[1]))  # the CLI counts from 1, the page's data from 0
            living.wait_for_function(f"document.querySelector('#picture').dataset.frame === '{index}'",
                                     timeout=5_000)
        living.click("#show-stack")
        assert living.get_attribute("#picture", "data-frame") == "stack"
    finally:
        context.close()
    assert not asked, f"the living picture asked the network for {asked}"


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 844, "height": 390}],
                         ids=["phone", "phone-landscape"])
def test_the_preview_is_shown_on_a_phone(server: Server, new_page: Callable[..., Page], burst: str,
                                         viewport: dict[str, int]) -> None:
    page = new_page(viewport=viewport, has_touch=True)
    page.goto(f"{server.url}/depth/{burst}")
    page.wait_for_selector("#stage[data-ready=true]", timeout=90_000)
    box = picture_box(page, "#preview")
    # the picture as wide as the screen allows at its aspect, and big enough to tap a subject on
    assert box["height"] >= 0.4 * min(viewport["height"], viewport["width"] * SIZE[1] / SIZE[0]), box
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    objs = objects(server, burst)
    before = renders(page)
    tap(page, "#preview", objs["coin"][1])  # a tap on the picture reaches it (nothing lies over it)
    rendered(page, before)
    # the phone turned: the picture is drawn at another size, and the tap's marker stays on the coin
    page.set_viewport_size({"width": viewport["height"], "height": viewport["width"]})
    page.wait_for_function(f"document.querySelector('#preview').getBoundingClientRect().width < {box['width'] - 1} || "
                           f"document.querySelector('#preview').getBoundingClientRect().width > {box['width'] + 1}")
    turned = picture_box(page, "#preview")
    marker = page.locator("#tap-marker").bounding_box()
    assert marker is not None, "the tap's marker is gone"
    x, y = (turned["x"] + objs["coin"][1][0] / SIZE[0] * turned["width"],
            turned["y"] + objs["coin"][1][1] / SIZE[1] * turned["height"])
    assert abs(marker["x"] + marker["width"] / 2 - x) <= 1 and abs(marker["y"] + marker["height"] / 2 - y) <= 1
