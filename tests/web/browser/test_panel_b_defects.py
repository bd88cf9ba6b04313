"""Issue 16 defects 2, 6, 10, 11, 12 and 14, as a photographer meets them in the panel: a real
``tether serve`` on the simulated camera, Chromium at desktop size and as a 390x844 touch phone.

The bursts come from test_panel's fixtures (one sweep per module, a copy per test), so each test
runs alone or in any order.
"""
from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pytest
import requests
from playwright.sync_api import Page

from tests.web.browser import test_a11y, test_panel, test_panel_a
from tests.web.browser.test_a11y import cut_off
from tests.web.browser.test_panel import finished_job, picture_box, shot

if TYPE_CHECKING:
    from tests.web.browser.conftest import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: A phone as the issue tried it: 390x844 CSS pixels, touch, mobile viewport rules.
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
                         "device_scale_factor": 2}
CAMERA = "sim:macro"

# a burst swept once per module on this module's server (no pre-scan), and a copy of it per test
swept = test_a11y.swept
burst = test_panel.burst


def shown_frame(page: Page) -> int:
    """The frame the Refocus page shows once the picture has caught up with the scrubber."""
    page.wait_for_function("""() => { const img = document.querySelector('#frame');
        return img.dataset.index === document.querySelector('#scrubber').value; }""")
    return int(page.get_attribute("#frame", "data-index") or -1)


def test_arrow_keys_move_one_frame_with_the_scrubber_focused(server: Server, new_page: Callable[..., Page],
                                                             burst: str) -> None:
    page = new_page()
    page.goto(f"{server.url}/refocus/{burst}")
    start = shown_frame(page)
    page.focus("#scrubber")
    page.keyboard.press("ArrowRight")
    assert shown_frame(page) == start + 1
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert shown_frame(page) == start - 1
    # with the focus elsewhere the page's own keys still move one frame
    page.focus("#save-frame")
    page.keyboard.press("ArrowRight")
    assert shown_frame(page) == start
    assert page.inner_text("#frame-label").startswith(f"frame {start + 1} of ")
    # and a screen reader says that number, not the slider's value counted from 0
    assert page.get_attribute("#scrubber", "aria-valuetext") == page.inner_text("#frame-label")


def loupe_box(page: Page) -> dict[str, float]:
    page.wait_for_selector("#loupe:not([hidden])")
    box = page.locator("#loupe").bounding_box()
    assert box is not None
    return box


def assert_on_screen(page: Page, box: dict[str, float]) -> None:
    """Inside the window and inside the picture's stage (so never under the header)."""
    stage = page.locator("#stage").bounding_box()
    size = page.viewport_size
    assert stage is not None and size is not None
    assert box["x"] >= max(0, stage["x"]) - 0.5 and box["y"] >= max(0, stage["y"]) - 0.5, (box, stage)
    assert box["x"] + box["width"] <= min(size["width"], stage["x"] + stage["width"]) + 0.5, (box, stage)
    assert box["y"] + box["height"] <= min(size["height"], stage["y"] + stage["height"]) + 0.5, (box, stage)


def test_magnifier_stays_on_screen_near_the_edges(server: Server, new_page: Callable[..., Page], burst: str) -> None:
    page = new_page(viewport={"width": 1000, "height": 760})
    page.goto(f"{server.url}/refocus/{burst}")
    shown_frame(page)
    page.check("#toggle-loupe")
    pic = picture_box(page, "#frame")
    # the top edge (no room above the pointer) and the top-left corner
    for x, y in ((pic["x"] + pic["width"] / 2, pic["y"] + 6), (pic["x"] + 6, pic["y"] + 6)):
        page.mouse.move(1, page.viewport_size["height"] - 1)  # off the picture: the loupe closes
        page.wait_for_selector("#loupe", state="hidden")
        page.mouse.move(x, y)
        assert_on_screen(page, loupe_box(page))


def test_magnifier_stays_on_screen_on_a_phone(server: Server, new_page: Callable[..., Page], burst: str) -> None:
    page = new_page(**PHONE)
    page.goto(f"{server.url}/refocus/{burst}")
    shown_frame(page)
    page.tap("#toggle-loupe")
    pic = picture_box(page, "#frame")
    # a finger held on the picture near its top-left corner and moved a little: a touch drag
    touch = page.context.new_cdp_session(page)
    x, y = pic["x"] + 12, pic["y"] + 20
    touch.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    # the touch is also a tap, whose answer may re-flow the page: the move comes when that has landed
    page.wait_for_load_state("networkidle")
    touch.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x + 4, "y": y - 10}]})
    assert_on_screen(page, loupe_box(page))
    touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_camera_page_fits_a_phone(server: Server, new_page: Callable[..., Page]) -> None:
    """The other pages on a phone: test_a11y (every page, phone size, nothing cut off)."""
    page = new_page(**PHONE)
    page.goto(f"{server.url}/")
    page.wait_for_function("document.querySelector('#live-img').naturalWidth > 0")
    assert cut_off(page) == []
    for selector in ("#live-img", "#histogram", "#liveview-fps"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (selector, box)
    shot(page, "camera-phone")


def picture(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None
    return cv2.resize(image, (32, 24), interpolation=cv2.INTER_AREA).astype(np.float32)


def test_frame_strip_shows_the_captured_frames_after_a_reload(server: Server, new_page: Callable[..., Page],
                                                                  swept: str) -> None:
    camera = f"{server.url}/api/cameras/{CAMERA}"
    rng = requests.get(f"{server.url}/api/bursts/{swept}", timeout=10).json()["focus_range"]
    page = new_page()
    # a stills sweep started elsewhere (or before a reload): this page opens while it runs
    started = requests.post(f"{camera}/sweep", json={"range": rng, "frames": 10, "mode": "stills"}, timeout=10)
    page.goto(f"{server.url}/postfocus")
    finished_job(server, started)
    burst_id = started.json()["burst"]
    page.wait_for_selector("#sweep-frames figure")
    page.wait_for_function("""() => [...document.querySelectorAll('#sweep-frames .frame-thumb')]
        .every((t) => t.complete && t.naturalWidth > 0)""")
    thumbs = page.evaluate("""() => [...document.querySelectorAll('#sweep-frames figure')].map((f) => {
        const thumb = f.querySelector('.frame-thumb');
        const c = document.createElement('canvas'); c.width = 32; c.height = 24;
        c.getContext('2d').drawImage(thumb, 0, 0, 32, 24);
        return { number: Number(f.querySelector('figcaption').textContent), png: c.toDataURL('image/png') };
    })""")
    # the frames taken before the page opened are there too, each once, in order
    count = requests.get(f"{server.url}/api/bursts/{burst_id}", timeout=10).json()["frame_count"]
    assert [t["number"] for t in thumbs] == list(range(1, count + 1))
    for thumb in thumbs:
        shown = picture(base64.b64decode(thumb["png"].split(",", 1)[1]))
        frame = requests.get(f"{server.url}/api/bursts/{burst_id}/frames/{thumb['number'] - 1}.jpg", timeout=10)
        captured = picture(frame.content)
        assert shown.mean() > 20, "a black thumbnail"
        assert np.abs(shown - captured).mean() < 6, f"thumbnail {thumb['number']} is not that frame"


def test_gallery_is_newest_capture_first(server: Server, new_page: Callable[..., Page], burst: str,
                                         swept: str) -> None:
    rng = requests.get(f"{server.url}/api/bursts/{swept}", timeout=10).json()["focus_range"]
    newer = requests.post(f"{server.url}/api/cameras/{CAMERA}/sweep", json={"range": rng, "frames": 3}, timeout=10)
    finished_job(server, newer)
    # derived data written into the older burst (a refocus map, a depth map) makes its file the newest
    os.utime(server.data_dir / "bursts" / f"{burst}.burst")
    page = new_page()
    page.goto(f"{server.url}/bursts")
    page.wait_for_selector(f"[data-burst='{burst}']")
    order = page.eval_on_selector_all("#gallery [data-burst]", "cards => cards.map((c) => c.dataset.burst)")
    assert order.index(newer.json()["burst"]) < order.index(burst)


def test_saving_a_frame_again_keeps_one_file(server: Server, new_page: Callable[..., Page], burst: str) -> None:
    page = new_page()
    page.goto(f"{server.url}/refocus/{burst}")
    shown_frame(page)
    number = int(page.inner_text("#frame-label").split()[1])  # "frame 8 of 14": what the photographer reads
    links = []
    for _ in range(3):
        page.evaluate("document.querySelector('#save-result').replaceChildren()")
        page.click("#save-frame")
        links.append(page.wait_for_selector("#saved-link").get_attribute("href"))
    assert len(set(links)) == 1
    # saved under the number the page showed (the trial found frame 47 saved as frame0046)
    assert page.inner_text("#saved-link") == f"Download {burst}-frame{number:04d}.jpg"
    page.goto(f"{server.url}/bursts")
    page.wait_for_selector("#exports li")
    saved = [text for text in page.eval_on_selector_all("#exports li", "items => items.map((i) => i.textContent)")
             if text.startswith(f"{burst}-frame{number:04d}")]
    assert len(saved) == 1, saved


def test_capture_downloads_under_the_name_it_shows(server: Server, new_page: Callable[..., Page],
                                                   tmp_path: Path) -> None:
    page = new_page()
    page.goto(f"{server.url}/")
    for _ in range(2):  # the second still must not take the first one's file or name
        page.evaluate("document.querySelector('#capture-result').replaceChildren()")
        page.click("#capture")
        link = page.wait_for_selector("#capture-result a")
        name = link.inner_text().removeprefix("Download ").split(" (")[0]
        with page.expect_download() as info:
            link.click()
        assert info.value.suggested_filename == name
        assert name.upper().endswith(".JPG")
        info.value.save_as(tmp_path / name)
        assert cv2.imread(str(tmp_path / name)) is not None


def test_burst_card_keeps_each_export_link(server: Server, new_page: Callable[..., Page], burst: str) -> None:
    page = new_page()
    page.goto(f"{server.url}/bursts")
    card = page.locator(f"[data-burst='{burst}']")
    card.get_by_role("button", name="Export JPEGs").click()
    card.get_by_role("link", name="zip").wait_for()
    card.get_by_role("button", name="Export MP4").click()
    card.get_by_role("link", name="mp4").wait_for()
    # the MP4's progress and link came beside the ZIP's download link, not over it
    assert card.get_by_role("link", name="zip").count() == 1


def test_the_exports_list_shows_what_was_exported_and_deletes_it(server: Server, new_page: Callable[..., Page],
                                                                 burst: str) -> None:
    stacked = finished_job(server, requests.post(f"{server.url}/api/bursts/{burst}/stack",
                                                 json={"format": "tiff", "range": [0, 2]}, timeout=10))["result"]
    page = new_page()
    page.goto(f"{server.url}/bursts")
    item = page.locator(f"#exports li[data-export='{stacked['export']}']")
    item.wait_for()
    names = page.eval_on_selector_all("#exports li a", "links => links.map((a) => a.textContent)")
    assert stacked["name"] in names
    # the JPEG the Stack page shows for a TIFF is the panel's own, not something the photographer exported
    assert not [n for n in names if n.startswith(stacked["preview"])], names
    asked = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss() if len(asked) == 1 else dialog.accept()

    page.on("dialog", answer)
    item.get_by_role("button", name=f"Delete {stacked['name']}").click()
    assert asked and stacked["name"] in asked[0]
    assert item.count() == 1 and requests.get(f"{server.url}/api/exports/{stacked['export']}", timeout=10).ok
    item.get_by_role("button", name=f"Delete {stacked['name']}").click()
    item.wait_for(state="detached")
    assert requests.get(f"{server.url}/api/exports/{stacked['export']}", timeout=10).status_code == 404


def test_cancel_lies_beside_the_sweep_progress_on_a_phone(server: Server, new_page: Callable[..., Page]) -> None:
    page = new_page(**PHONE)
    page.goto(f"{server.url}/postfocus")
    page.wait_for_selector("#connection[data-state=connected]")
    page.fill("#range-near", "20")
    page.fill("#range-far", "200")
    page.fill("#frames", "60")
    page.tap("#sweep")  # below the live view and the settings: the page is scrolled down to it
    try:
        # this sweep's own bar: the page may have opened on the last sweep's, full (a reload shows the last sweep)
        page.wait_for_function("document.querySelector('#sweep-cancel').hidden === false", timeout=60_000)
        page.wait_for_function("Number(document.querySelector('#sweep-bar').dataset.fraction) > 0.02",
                               timeout=60_000)
        progress, cancel = (page.locator(s).bounding_box() for s in ("#sweep-progress .progress", "#sweep-cancel"))
        assert progress is not None and cancel is not None
        # both on the screen as it is (no scrolling), and the button right under the bar it stops
        for box in (progress, cancel):
            assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["viewport"]["height"], (progress, cancel)
        assert 0 <= cancel["y"] - (progress["y"] + progress["height"]) <= 120, (progress, cancel)
        page.touchscreen.tap(cancel["x"] + cancel["width"] / 2, cancel["y"] + cancel["height"] / 2)
        page.wait_for_function("/cancel/i.test(document.querySelector('#sweep-status').textContent)")
    finally:
        for job in requests.get(f"{server.url}/api/jobs", timeout=10).json():
            if job["state"] in ("queued", "running"):
                test_panel_a.cancel(server, job["job"])


def on_screen(page: Page, selector: str) -> bool:
    """The whole of ``selector`` is inside the phone's screen as the page is scrolled now."""
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not shown"
    return box["y"] >= 0 and box["y"] + box["height"] <= PHONE["viewport"]["height"]


def test_the_stack_pages_picture_is_in_sight_when_a_phone_taps_or_paints_on_it(
        server: Server, new_page: Callable[..., Page], burst: str) -> None:
    page = new_page(**PHONE)
    page.goto(f"{server.url}/stack/{burst}")
    page.wait_for_function("document.querySelector('#single').naturalWidth > 0")
    # the frame to tap on is below the controls: Tap a near and a far point brings it up
    assert not on_screen(page, "#single")
    page.tap("#pick-points")
    page.wait_for_function("document.querySelector('#stack-status').textContent.includes('nearest point')")
    assert on_screen(page, "#single")
    # the brush's controls are below the stack: set there, the stack it paints on stays in sight
    page.tap("#stack")
    page.wait_for_selector("#retouch:not([hidden])", timeout=60_000)
    page.wait_for_function("""() => { const img = document.querySelector('#result');
        return img.dataset.revision === '0' && img.complete && img.naturalWidth > 0; }""")
    for control in ("#brush-size", "#retouch-export"):
        page.locator(control).scroll_into_view_if_needed()
        assert on_screen(page, control) and on_screen(page, "#result"), (
            control, page.evaluate("scrollY"), page.locator("#result").bounding_box())
