"""Defects of the panel found after stop 26, in a real browser against a real ``tether serve``: the Stack page
says what the server kept with its stack, and asks for it once (a handheld stack's crop note is still there
after a reload; the retouch layer is fetched once per stack and once per page load); a tap on the Refocus
page on a phone leaves its marker on the point tapped and the picture where it was."""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import cv2
import numpy as np
import pytest
from playwright.sync_api import Page, Request, Route, WebSocketRoute

from tests.web.browser.test_panel import picture_box
from tests.web.browser.test_panel_b_defects import PHONE, shown_frame
from tether.burst import BurstWriter, FrameMeta
from tether.camera.sim import optics

if TYPE_CHECKING:
    from tests.web.browser.conftest import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZE = (480, 320)


def sim_burst(server: Server, tag: str, hand: float = 0.0) -> str:
    """Five frames of the simulator's sweep, each moved ``hand`` x (6, 4) px more than the last, as a hand holding
    the camera would (then no frame covers the whole picture: the stack's edges are filled and the page says so)."""
    burst_id = time.strftime("%Y%m%d-%H%M%S") + f"-{tag}"
    with BurstWriter.create(server.data_dir / "bursts" / f"{burst_id}.burst", camera={"model": "test"},
                            sweep={"mode": "liveview"}, fsync=False) as writer:
        for k, position in enumerate(np.linspace(40, 170, 5)):
            picture = optics.render("macro", float(position), SIZE, breathing=True, seed=0)
            moved = cv2.warpAffine(picture, np.float32([[1, 0, 6 * hand * k], [0, 1, 4 * hand * k]]), SIZE,
                                   borderMode=cv2.BORDER_REFLECT)
            writer.append(cv2.imencode(".jpg", moved, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes(),
                          FrameMeta(focus_position=int(position)))
    return burst_id


def test_a_handheld_stacks_crop_note_survives_a_reload_and_its_layer_is_fetched_once(
        server: Server, new_page: Callable[..., Page]) -> None:
    burst = sim_burst(server, "4a4d00", hand=1.0)
    layer = f"/api/bursts/{burst}/retouch"
    fetched: list[str] = []

    def count(request: Request) -> None:
        if request.method == "GET" and urlsplit(request.url).path == layer:
            fetched.append(request.url)

    page = new_page()
    page.on("request", count)
    page.goto(f"{server.url}/stack/{burst}")
    page.wait_for_function("document.querySelector('#single').naturalWidth > 0")
    page.wait_for_load_state("networkidle")
    assert len(fetched) == 1  # no stack yet: asked once, answered 404

    fetched.clear()
    page.click("#stack")
    page.wait_for_selector("#retouch:not([hidden])", timeout=60_000)
    page.wait_for_load_state("networkidle")
    assert len(fetched) == 1, fetched
    note = page.inner_text("#result-caption")
    cropped = re.search(r"every frame covers all but ([\d.]+) % at the edges .*crop it off", note)
    assert cropped and float(cropped[1]) > 5, note  # the hand moved the frames by up to 24 x 16 px

    fetched.clear()
    page.reload()
    page.wait_for_selector("#retouch:not([hidden])")
    page.wait_for_function("document.querySelector('#result-caption').textContent !== ''")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("#result-caption") == note
    assert len(fetched) == 1, fetched


def test_a_tap_on_a_phone_leaves_its_marker_on_the_point_and_the_picture_where_it_was(
        server: Server, new_page: Callable[..., Page]) -> None:
    burst = sim_burst(server, "7a9000")
    page = new_page(**PHONE)
    page.goto(f"{server.url}/refocus/{burst}")
    page.wait_for_selector("#stage[data-ready=true]")
    before = picture_box(page, "#frame")
    x, y = before["x"] + 0.3 * before["width"], before["y"] + 0.6 * before["height"]
    page.touchscreen.tap(x, y)
    page.wait_for_selector("#alternatives button")  # the answer, with the other frames sharp there
    shown_frame(page)
    assert picture_box(page, "#frame") == before  # the answer's line does not take room from the picture
    marker = page.locator("#tap-marker").bounding_box()
    assert marker is not None, "the tap's marker is gone"
    centre = (marker["x"] + marker["width"] / 2, marker["y"] + marker["height"] / 2)
    assert abs(centre[0] - x) <= 1 and abs(centre[1] - y) <= 1, (centre, (x, y))


def test_a_job_started_as_the_page_connects_is_followed_not_called_lost(server: Server,
                                                                        new_page: Callable[..., Page]) -> None:
    """The Refocus page asks for its map as its socket connects: the connection's snapshot, made before the job
    was, can reach the page after the job's id. Here it does: the snapshot (and what follows it) is held until
    the page has its answer, and the page's request is held until the server has made the snapshot."""
    burst = sim_burst(server, "5a0400")
    held: list[str | bytes] = []
    released = False
    sockets: list[WebSocketRoute] = []
    asks: list[Route] = []

    def hold_from_the_snapshot_on(ws: WebSocketRoute) -> None:
        sockets.append(ws)

        def to_page(message: str | bytes) -> None:
            if not released and (held or str(message).startswith('42["snapshot"')):
                held.append(message)
            else:
                ws.send(message)
        ws.connect_to_server().on_message(to_page)

    page = new_page()
    page.route_web_socket("**/socket.io/**", hold_from_the_snapshot_on)
    page.route(f"**/api/bursts/{burst}/refocus-map", lambda route: asks.append(route))
    page.goto(f"{server.url}/refocus/{burst}")
    deadline = time.monotonic() + 15
    while not (held and asks) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert held and asks, "no snapshot, or the page did not ask for its map"
    with page.expect_response(lambda r: r.url.endswith("/refocus-map")) as answer:
        asks[0].continue_()
    assert answer.value.status == 202  # a job: the burst has no map yet
    for message in held:  # in order, with what comes meanwhile (added to the list as it is sent)
        sockets[0].send(message)
    released = True
    page.wait_for_selector("#stage[data-ready=true]")
    assert page.is_hidden("#busy")
    assert page.inner_text("#toasts") == ""  # not "the server restarted and no longer runs this job"


def test_the_lens_line_says_the_focus_moves_while_a_sweep_runs(server: Server, new_page: Callable[..., Page]) -> None:
    page = new_page()
    page.goto(f"{server.url}/postfocus")
    page.wait_for_selector("#connection[data-state=connected]")
    page.evaluate("""() => { window.said = [];  // the lens line each time the sweep's progress line changes
        const status = document.querySelector('#sweep-status');
        new MutationObserver(() => window.said.push([status.textContent,
            document.querySelector('#lens-position').textContent]))
            .observe(status, {childList: true, characterData: true, subtree: true}); }""")
    page.fill("#range-near", "60")
    page.fill("#range-far", "140")
    page.fill("#frames", "8")
    page.click("#sweep")
    page.wait_for_selector("#open-refocus", timeout=60_000)
    said: list[list[str]] = page.evaluate("window.said")
    running = {lens for status, lens in said if re.match(r"Sweep: \d+ %", status)}
    assert running == {"focus moving: a pre-scan or sweep is running"}, said



@pytest.mark.parametrize("viewport", [{}, PHONE], ids=["desktop", "phone"])
def test_the_users_own_stack_is_shown_once(server: Server, new_page: Callable[..., Page],
                                           viewport: dict[str, Any]) -> None:
    """The stack a user makes on the page is drawn and captioned once, and the exports are not listed for it (the
    picture came twice, the second time from the retouch layer with the caption again and a listing for its name)."""
    burst = sim_burst(server, "0a1000" if viewport else "0a2000")
    listings: list[str] = []
    page = new_page(**viewport)
    page.on("request", lambda r: listings.append(r.url) if urlsplit(r.url).path == "/api/exports" else None)
    page.goto(f"{server.url}/stack/{burst}")
    page.wait_for_function("document.querySelector('#single').naturalWidth > 0")
    page.wait_for_load_state("networkidle")
    page.evaluate("""() => {  // every picture and caption the stack's side of the page shows
        window.pictures = [];
        window.captions = [];
        const img = document.querySelector('#result');
        new MutationObserver(() => window.pictures.push(img.src)).observe(img, {attributeFilter: ['src']});
        const caption = document.querySelector('#result-caption');
        new MutationObserver(() => window.captions.push(caption.textContent))
            .observe(caption, {childList: true, characterData: true, subtree: true});
    }""")
    page.click("#stack")
    page.wait_for_selector("#retouch:not([hidden])", timeout=60_000)
    page.wait_for_function("document.querySelector('#result').complete")
    page.wait_for_load_state("networkidle")
    pictures = page.evaluate("window.pictures")
    assert len(pictures) == 1 and "/retouch.jpg?" in pictures[0], pictures  # the layer's picture: strokes go on it
    assert page.evaluate("window.captions") == ["stack of 5 frames (pyramid, frames 1–5)"]
    assert page.get_attribute("#download", "href").startswith("/api/exports/")
    assert page.is_visible("#download") and page.inner_text("#download").startswith("Download ")
    assert listings == []
