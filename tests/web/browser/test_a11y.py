"""Accessibility of the control panel (issue 16, WCAG 2.2 AA): axe-core on every page at desktop and
phone size, names and text alternatives, headings, 44 px touch targets, and a keyboard cursor that
does what a click on the picture does (loupe, refocus tap, near/far picking).

axe-core comes from npm (package.json, installed by ``make setup`` into node_modules/); it is put
into the page by the test only, the panel itself never loads it.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from playwright.sync_api import Page

from tests.web.browser import test_panel
from tests.web.browser.test_panel import finished_job, truth

if TYPE_CHECKING:
    from tests.web.browser.conftest import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = Path(__file__).resolve().parents[3] / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
                         "device_scale_factor": 2}
#: Each page, and what shows that it has drawn itself from the server's answers.
PAGES = {
    "/": "#settings select",
    "/postfocus": "#connection[data-state=connected]",
    "/bursts": "#gallery article",
    "/refocus/{burst}": "#frame[data-index]",
    "/stack/{burst}": "#single[data-index]",
    "/depth/{burst}": "#stage[data-ready=true]",
}
#: What a finger presses: each at least 44 px tall on a touch screen (a checkbox by its label).
TARGETS = """() => [...document.querySelectorAll(
        'button, a.button, nav a, select, input:not([type=checkbox]):not([type=radio]), summary, label:has(input)')]
    .filter((e) => e.getClientRects().length && !e.closest('[hidden]'))
    .map((e) => ({ what: e.id || e.textContent.trim().slice(0, 30) || e.tagName,
                   height: e.getBoundingClientRect().height }))
    .filter((t) => t.height < 44)"""

# a copy per test (test_panel's) of the module's burst (made below)
burst = test_panel.burst


@pytest.fixture(scope="module")
def swept(server: Server) -> str:
    """test_panel's module burst, made without the pre-scan (the slowest part): 14 frames over the
    depth the simulator's scene truth gives, from just before its nearest to past its farthest subject."""
    from tether.camera.sim import SceneTruth

    depths = [o.focus_position for o in SceneTruth("macro").objects]
    sweep = requests.post(f"{server.url}/api/cameras/sim:macro/sweep", timeout=10,
                          json={"range": [int(min(depths)) - 8, int(max(depths)) + 10], "frames": 14})
    finished_job(server, sweep)
    return str(sweep.json()["burst"])


def cut_off(page: Page) -> list[str]:
    """What sticks out past the window's right edge (the page scrolls sideways, or hides it)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    return [f"page {width} px wide"] * (width > page.evaluate("window.innerWidth")) + page.evaluate(
        """() => [...document.querySelectorAll('main *, header *')]
        .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .map((e) => e.id || e.tagName)""")


def open_page(new_page: Callable[..., Page], url: str, ready: str, **device: Any) -> Page:
    page = new_page(**device)
    page.goto(url)
    page.wait_for_selector(ready, state="attached")
    return page


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("path", list(PAGES))
def test_axe_finds_nothing_serious(server: Server, new_page: Callable[..., Page], burst: str, path: str,
                                   device: dict[str, Any]) -> None:
    assert AXE.is_file(), "axe-core is missing: run `make setup` (npm ci)"
    errors: list[str] = []
    page = new_page(**device)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(server.url + path.format(burst=burst))
    page.wait_for_selector(PAGES[path], state="attached")
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("""async () => (await axe.run(document)).violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`)""")
    assert violations == []
    # one h1 names the page; the parts of the page have headings below it
    assert page.get_by_role("heading", level=1).count() == 1
    assert page.get_by_role("heading", level=2).count() >= 1
    if device is PHONE:
        assert page.evaluate(TARGETS) == []
        assert cut_off(page) == []  # issue 16 defect 10: the phone layout overflowed
        # the header is one row (of 44 px targets): it took three, 140-180 px of the 844
        assert page.evaluate("document.querySelector('header').getBoundingClientRect().height") <= 60
    # a page opened on a burst never stacked asks nothing that fails (it logged a 404 for its retouch layer)
    assert errors == []


def test_buttons_and_canvases_say_what_they_are(server: Server, new_page: Callable[..., Page]) -> None:
    page = open_page(new_page, f"{server.url}/", PAGES["/"])
    for direction in ("nearer", "farther"):
        for step in ("small", "large"):
            assert page.get_by_role("button", name=f"focus {direction}, {step} step", exact=True).count() == 1
    assert page.get_by_role("button", name="look for cameras again").count() == 1
    # the histogram's text follows the picture it is drawn from
    page.get_by_role("img", name=re.compile(r"histogram .*median brightness \d+ of 255")).wait_for()
    page = open_page(new_page, f"{server.url}/postfocus", PAGES["/postfocus"])
    assert page.get_by_role("img", name=re.compile("pre-scan contrast curves")).count() == 1


def move_cursor(page: Page, to: tuple[float, float], at: tuple[float, float] = (0.5, 0.5)) -> tuple[float, float]:
    """Arrow keys from `at` to about `to` (fractions of the picture; one press moves 0.02)."""
    for axis, (keys, start, goal) in enumerate(((("ArrowLeft", "ArrowRight"), at[0], to[0]),
                                                 (("ArrowUp", "ArrowDown"), at[1], to[1]))):
        presses = round((goal - start) / 0.02)
        for _ in range(abs(presses)):
            page.keyboard.press(keys[presses > 0])
        at = (at[0] + 0.02 * presses, at[1]) if axis == 0 else (at[0], at[1] + 0.02 * presses)
    return at


def test_keyboard_cursor_opens_the_loupe(server: Server, new_page: Callable[..., Page]) -> None:
    page = open_page(new_page, f"{server.url}/", "#live-img")
    page.wait_for_function("document.querySelector('#live-img').naturalWidth > 0")
    page.focus("#live-img")
    move_cursor(page, (0.3, 0.3))
    page.keyboard.press("Enter")
    page.wait_for_selector("#loupe:not([hidden])")
    page.keyboard.press("Enter")
    page.wait_for_selector("#loupe", state="hidden")


def test_keyboard_cursor_refocuses(server: Server, new_page: Callable[..., Page], burst: str) -> None:
    coin, _, expected = truth(burst, server)
    page = open_page(new_page, f"{server.url}/refocus/{burst}", "#stage[data-ready=true]")
    page.focus("#frame")
    move_cursor(page, coin)
    page.keyboard.press("Enter")
    page.wait_for_function("""() => { const img = document.querySelector('#frame');
        return img.dataset.tapFrame !== undefined && img.dataset.index === img.dataset.tapFrame; }""")
    assert abs(int(page.get_attribute("#frame", "data-index") or -1) - expected) <= 1


def test_keyboard_cursor_picks_near_and_far(server: Server, new_page: Callable[..., Page], burst: str) -> None:
    coin, board, coin_frame = truth(burst, server)
    page = open_page(new_page, f"{server.url}/stack/{burst}", PAGES["/stack/{burst}"])
    page.focus("#pick-points")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#stack-status').textContent.includes('nearest point')")
    page.focus("#single")
    at = move_cursor(page, coin)
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#stack-status').textContent.includes('farthest')")
    move_cursor(page, board, at)
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#stack-status').textContent.includes('range set')")
    first, last = int(page.input_value("#range-first")), int(page.input_value("#range-last"))
    assert abs(first - coin_frame) <= 1 and last > first + 3, (first, last, coin_frame)
