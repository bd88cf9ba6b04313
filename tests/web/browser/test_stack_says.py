"""What the Stack page says describes the picture it shows: after a Restore and a reload (status, Method),
under a retouched stack (what its download link gives), and when another browser deletes the burst.
A real browser against a real ``tether serve``, on a laptop's screen and a phone's."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
import requests
from playwright.sync_api import Page, ViewportSize

from tests.web.browser.test_panel import finished_job
from tests.web.browser.test_reconnect import paint, shows_stack

if TYPE_CHECKING:
    from tests.web.browser.conftest import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FRAMES = 12
PHONE: ViewportSize = {"width": 390, "height": 844}


def swept(server: Server) -> str:
    started = requests.post(f"{server.url}/api/cameras/sim:macro/sweep",
                            json={"range": [25, 195], "frames": FRAMES}, timeout=10)
    finished_job(server, started)
    return str(started.json()["burst"])


def open_stack(page: Page, server: Server, burst: str) -> None:
    page.goto(f"{server.url}/stack/{burst}")
    page.wait_for_function("document.querySelector('#single').naturalWidth > 0")


def stack(page: Page, method: str, extent: str) -> None:
    page.select_option("#method", method)
    page.check(f"input[name=extent][value={extent}]")
    page.click("#stack")
    page.wait_for_selector("#stack-cancel", state="visible")
    page.wait_for_selector("#stack-cancel", state="hidden", timeout=60_000)


def within_width(page: Page, selector: str, width: int) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_after_a_restore_and_a_reload_the_status_and_method_describe_the_stack_shown(
        server: Server, new_page: Callable[..., Page], viewport: ViewportSize | None) -> None:
    burst = swept(server)
    page = new_page(viewport=viewport)
    open_stack(page, server, burst)
    for slider, value in (("#range-first", 3), ("#range-last", 9)):  # moving one chooses "A range"
        page.eval_on_selector(slider, f"el => {{ el.value = {value}; el.dispatchEvent(new Event('input')); }}")
    stack(page, "pyramid", "range")
    href = shows_stack(page, "4–10", "range")
    # a retouched stack: the link under it says it gives the stack without the strokes
    page.locator("#result").scroll_into_view_if_needed()  # (below the controls on a phone)
    paint(page)
    page.wait_for_selector("#download >> text=without the 1 retouch stroke")
    name = page.get_attribute("#download", "href")
    assert name == href
    assert within_width(page, "#download", (viewport or {"width": 1280})["width"])

    stack(page, "depthmap", "all")
    shows_stack(page, f"1–{FRAMES}", "all")
    assert page.input_value("#method") == "depthmap"
    assert page.inner_text("#download").startswith("Download ") and "without" not in page.inner_text("#download")

    # the painted pyramid stack restored: the depth map's job no longer speaks for the picture
    page.click("#retouch-restore")
    page.wait_for_function("document.querySelector('#range-label').textContent === 'frames 4–10'")
    shows_stack(page, "4–10", "range", href)
    assert page.input_value("#method") == "pyramid"
    assert "Depth map" not in page.inner_text("#stack-status")
    assert page.is_hidden("#stack-progress")
    page.wait_for_selector("#download >> text=without the 1 retouch stroke")
    page.reload()
    shows_stack(page, "4–10", "range", href)
    assert page.input_value("#method") == "pyramid"


def test_a_burst_deleted_in_another_browser_is_said_on_its_stack_page(server: Server,
                                                                     new_page: Callable[..., Page]) -> None:
    burst = swept(server)
    page = new_page(viewport=PHONE)
    open_stack(page, server, burst)
    assert requests.delete(f"{server.url}/api/bursts/{burst}", timeout=10).status_code == 200  # the other browser
    page.wait_for_selector(f"#stack-status >> text=Burst {burst} was deleted", timeout=10_000)
    assert within_width(page, "#stack-status", PHONE["width"])
    with pytest.raises(Exception, match="Timeout"):  # nothing there can be asked of the server any more
        page.click("#stack", timeout=1_000)
