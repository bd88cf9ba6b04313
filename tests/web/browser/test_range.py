"""Near and far from live view, and coverage you can see, in a real browser on the simulated camera.

Where the focus really was is read from the pictures: the simulator renders its scene, noiseless, at
every motor position, and a frame's true position is the rendering it matches best (within one step
on this scene). The tiles a sweep never shows sharp come from the scene's truth: the object seen in
each tile and the focus position that makes it sharp.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import cache

import cv2
import numpy as np
import pytest
import requests
from playwright.sync_api import Page

from tests.web.browser.conftest import Server, start_server, stop_server_process
from tests.web.browser.test_panel import shot
from tether.camera.sim import MOTOR_RANGE, SceneTruth, render

SIZE = (480, 320)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fast_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose live view runs at 60 fps, so a pre-scan takes seconds; its motor makes no random step
    errors (they add up as a random walk that no count can know of)."""
    srv = start_server(tmp_path_factory.mktemp("serve"), fps=60.0, sim="focus_step_error = 0.0\n")
    yield srv
    stop_server_process(srv.process)


@cache
def renderings() -> dict[int, np.ndarray]:
    return {p: cv2.cvtColor(render("macro", p, SIZE), cv2.COLOR_BGR2GRAY).astype(np.float32)
            for p in range(MOTOR_RANGE + 1)}


def true_position(jpeg: bytes) -> int:
    """The motor position whose noiseless rendering the frame matches best."""
    gray = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE).astype(np.float32)
    return min(renderings().items(), key=lambda item: float(np.mean((item[1] - gray) ** 2)))[0]


def open_postfocus(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/postfocus")
    page.wait_for_selector("#connection[data-state=connected]")


def sweep_and_wait(page: Page, near: int, far: int, frames: int) -> str:
    page.fill("#range-near", str(near))
    page.fill("#range-far", str(far))
    page.fill("#frames", str(frames))
    page.click("#sweep")
    page.wait_for_selector("#open-refocus", timeout=90_000)
    return page.get_attribute("#open-refocus", "href").rsplit("/", 1)[-1]


def test_near_and_far_marked_in_live_view_give_a_sweep_over_them(fast_server: Server,
                                                                  new_page: Callable[..., Page]) -> None:
    page = new_page()
    open_postfocus(page, fast_server)
    page.click("#prescan")
    page.wait_for_selector("#prescan[disabled]")
    page.wait_for_selector("#curves[data-ready=true]", timeout=60_000)
    page.wait_for_selector("#mark-near:not([disabled])")
    # focus with the nudges, then mark; again for the far end
    for label in ("focus farther, large step", "focus farther, large step", "focus nearer, small step"):
        page.get_by_label(label).click()
    page.click("#mark-near")
    page.wait_for_selector("#near-preview:not([hidden])")
    page.wait_for_function("document.querySelector('#range-near').value === "
                           "document.querySelector('#near-preview').dataset.position")
    for _ in range(9):
        page.get_by_label("focus farther, large step").click()
    page.click("#mark-far")
    page.wait_for_selector("#far-preview:not([hidden])")
    page.wait_for_function("document.querySelector('#range-far').value === "
                           "document.querySelector('#far-preview').dataset.position")
    near, far = int(page.input_value("#range-near")), int(page.input_value("#range-far"))
    assert near + 60 < far
    # shown as a share of the lens's travel, not as steps
    assert "%" in page.inner_text("#near-preview figcaption") and "%" in page.inner_text("#range-fraction")
    marks = f"{fast_server.url}/api/cameras/sim:macro/marks"
    near_truth = true_position(requests.get(f"{marks}/near.jpg", timeout=10).content)
    far_truth = true_position(requests.get(f"{marks}/far.jpg", timeout=10).content)
    # the counted positions are where the focus really was
    assert abs(near - near_truth) <= 3 and abs(far - far_truth) <= 3, (near, near_truth, far, far_truth)

    # the plan says what the sweep will cost before it starts
    page.fill("#frames", "12")
    page.wait_for_function("document.querySelector('#plan-cost').dataset.bytes > 0")
    assert "MB" in page.inner_text("#plan-cost") and " s " in page.inner_text("#plan-cost")
    shot(page, "postfocus-range")
    burst = sweep_and_wait(page, near, far, 12)
    detail = requests.get(f"{fast_server.url}/api/bursts/{burst}", timeout=10).json()
    assert detail["sweep"]["prescan"] is None and detail["sweep"]["range"] == [near, far]
    frames = f"{fast_server.url}/api/bursts/{burst}/frames"
    first, last = (true_position(requests.get(f"{frames}/{f['index']}.jpg", timeout=10).content)
                   for f in (detail["frames"][0], detail["frames"][-1]))
    gap = (far - near) / (len(detail["frames"]) - 1)
    assert abs(first - near_truth) <= gap / 2 + 3 and abs(last - far_truth) <= gap / 2 + 3, (first, last)


def truth_beyond(last: float, *, wholly: bool = True) -> set[tuple[int, int]]:
    """Tiles (row, col) of the 9 x 16 grid showing, wholly or in part, objects whose focus lies past ``last``."""
    truth = SceneTruth("macro")
    index = truth.index_map(SIZE)
    positions = np.array([o.focus_position for o in truth.objects])
    h, w = SIZE[1] // 9, SIZE[0] // 16
    found = set()
    for r in range(9):
        for c in range(16):
            seen = positions[index[r * h:(r + 1) * h, c * w:(c + 1) * w]]
            if (seen.min() if wholly else seen.max()) > last:
                found.add((r, c))
    return found


def test_the_coverage_overlay_marks_what_a_narrow_sweep_misses_and_extend_fixes_it(
        fast_server: Server, new_page: Callable[..., Page]) -> None:
    page = new_page()
    open_postfocus(page, fast_server)
    # from before the coin to the fabric: the ruler and the cork board behind are never sharp
    burst = sweep_and_wait(page, 20, 130, 12)
    page.wait_for_selector(f"#coverage-map[data-burst='{burst}']", timeout=20_000)
    marked = {kind: {tuple(t) for t in tiles} for kind, tiles in
              json.loads(page.get_attribute("#coverage-map", "data-tiles")).items()}
    frames = requests.get(f"{fast_server.url}/api/bursts/{burst}", timeout=10).json()["frames"]
    last = frames[-1]["focus_position"]
    beyond = truth_beyond(last + 8)  # clearly past the last frame's depth of field
    assert not marked["beyond_near"]
    assert marked["beyond_far"] <= truth_beyond(last - 8, wholly=False), "a tile marked far shows nothing beyond"
    assert len(marked["beyond_far"] & beyond) >= 0.8 * len(beyond), (len(marked["beyond_far"]), len(beyond))
    assert page.locator(".coverage-tiles").is_visible()
    shot(page, "postfocus-coverage")
    warnings = page.locator("#coverage .warning").all_inner_texts()
    assert warnings
    # a reload shows the same coverage, warnings and links again
    page.reload()
    page.wait_for_selector(f"#coverage-map[data-burst='{burst}']", timeout=20_000)
    again = json.loads(page.get_attribute("#coverage-map", "data-tiles"))
    assert {tuple(t) for t in again["beyond_far"]} == marked["beyond_far"]
    # (with the overlay: the page's own warnings line is the plan's for the next sweep)
    page.wait_for_function(f"document.querySelectorAll('#coverage-map .warning').length === {len(warnings)}")
    assert page.locator("#coverage-map .warning").all_inner_texts() == warnings
    assert page.get_attribute("#open-refocus", "href") == f"/refocus/{burst}"

    # extend toward infinity past the farthest subject (scene truth), in one click
    farthest = max(o.focus_position for o in SceneTruth("macro").objects)
    page.fill(".fix-steps", str(round(farthest - last) + 16))
    page.click(".fix-extend[data-toward=far]")
    page.wait_for_selector("#sweep-status >> text=with those a fix added", timeout=90_000)
    merged = requests.get(f"{fast_server.url}/api/bursts/{burst}", timeout=10).json()
    positions = [f["focus_position"] for f in merged["frames"]]
    assert len(positions) > len(frames) and positions == sorted(positions) and positions[-1] > farthest
    # nothing lies beyond the far end any more (12 frames over 20..130 stay too far apart for the depth of field,
    # which the page still says, with the tiles between frames when a pre-scan placed the subjects)
    coverage = merged["summary"]["coverage"]
    assert not coverage["beyond_far"] and not any("infinity" in w for w in coverage["warnings"]), coverage["warnings"]
    page.wait_for_function(f"""() => {{ const map = document.querySelector("#coverage-map[data-burst='{burst}']");
        return map && JSON.parse(map.dataset.tiles).beyond_far.length === 0; }}""", timeout=20_000)
    assert not any("infinity" in w for w in page.locator("#coverage .warning").all_inner_texts())
    # the page shows the merged burst: its status, every frame in the strip, the stack preview of them all
    count = len(positions)
    page.wait_for_selector(f"#stack-preview-caption >> text=Stack of the {count} frames (a preview)", timeout=20_000)
    page.wait_for_function("document.querySelector('#stack-preview-img').naturalWidth > 0")
    assert page.inner_text("#sweep-status") == f"Sweep: done — {count} frames, with those a fix added"
    assert page.locator("#sweep-frames figcaption").all_inner_texts() == [str(n) for n in range(1, count + 1)]


def test_the_range_picker_fits_a_phone(fast_server: Server, new_page: Callable[..., Page]) -> None:
    page = new_page(viewport={"width": 390, "height": 844}, has_touch=True)
    open_postfocus(page, fast_server)
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    for selector in ("#mark-near", "#mark-far", "#rangepick [data-focus='far'][data-step='large']"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= 390, (selector, box)
    shot(page, "postfocus-range-phone")
