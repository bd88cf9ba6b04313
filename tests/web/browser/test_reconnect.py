"""An open page across a server restart, in a real browser against a real ``tether serve`` stopped
(SIGTERM) and started again on its port and data dir: a sweep or a stack the page was following ends
there with one line saying so, its buttons are usable again, the sweep's burst is offered with every
thumbnail shown; and the Stack page, reloaded or restarted, shows its last stack as it was made (and an
earlier one when it is restored), and follows a stack that runs while it is reloaded."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from playwright.sync_api import Page

from tests.web.browser.conftest import start_server, stop_server_process
from tests.web.browser.test_panel import finished_job
from tests.web.browser.test_panel_a import sweep_from_page

if TYPE_CHECKING:
    from tests.web.browser.conftest import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: A fast live view: a live-view sweep takes a frame each.
FPS = 30.0
THUMBS = "#sweep-frames img"
#: Frames large enough that a stack of them is still running when the page is reloaded.
BIG = (1440, 960)
FRAMES = 30


def restart(servers: list[Server], page: Page, base: Path, then: Callable[[], None] = lambda: None,
            size: tuple[int, int] = (480, 320)) -> None:
    """Stop the newest server as a photographer would (SIGTERM), see the page lose it, ``then`` start it again."""
    stop_server_process(servers[-1].process)
    page.wait_for_selector("#connection[data-state=disconnected]")
    then()
    servers.append(start_server(base, port=servers[0].port, fps=FPS, size=size))


def test_a_sweep_cut_by_a_restart_ends_on_the_page_with_its_burst(tmp_path: Path,
                                                                  new_page: Callable[..., Page]) -> None:
    base = tmp_path / "serve"
    servers = [start_server(base, fps=FPS)]
    try:
        page = sweep_from_page(servers[0], new_page, 10, 230, 200)
        page.wait_for_function(f"document.querySelectorAll('{THUMBS}').length >= 3", timeout=30_000)
        # the thumbnails asked for while the server goes away fail (here: refused), and stay broken
        page.route("**/frames/*.jpg*", lambda route: route.abort())
        page.wait_for_function(f"[...document.querySelectorAll('{THUMBS}')].some(i => i.complete && !i.naturalWidth)",
                               timeout=30_000)
        restart(servers, page, base, then=lambda: page.unroute("**/frames/*.jpg*"))

        page.wait_for_selector("#sweep-status >> text=The server restarted", timeout=30_000)
        page.wait_for_selector("#open-refocus")
        burst = str(page.get_attribute("#open-refocus", "href")).removeprefix("/refocus/")
        kept = len(requests.get(f"{servers[-1].url}/api/bursts/{burst}", timeout=10).json()["frames"])
        assert kept >= 3
        assert page.inner_text("#sweep-status") == (
            f"The server restarted: the sweep stopped after {kept} frames (kept in the burst).")
        assert page.is_enabled("#sweep")
        assert page.is_hidden("#sweep-cancel")
        # the stack preview beside it is not that of the few frames seen before the restart (a sweep cut short
        # keeps none in its burst)
        page.wait_for_selector("#stack-preview", state="hidden")
        # every frame the burst kept is in the strip (up to its 60), each picture shown
        captions = page.locator("#sweep-frames figcaption").all_inner_texts()
        assert captions[-1] == str(kept) and len(captions) == min(kept, 60)
        page.wait_for_function(f"[...document.querySelectorAll('{THUMBS}')].every(i => i.complete && i.naturalWidth)")

        # and the restarted server sweeps again from the page
        page.click("#sweep")
        page.wait_for_selector("#sweep-status >> text=Sweep:", timeout=30_000)
        page.click("#sweep-cancel")
        page.wait_for_selector("#sweep-status >> text=Sweep cancelled", timeout=30_000)
    finally:
        for server in servers:
            stop_server_process(server.process)


def shows_stack(page: Page, frames: str, extent: str, href: str | None = None) -> str | None:
    """The Stack page shows a stack of burst ``frames`` ("4–10") chosen as ``extent`` ("range" or "all"),
    with its download link (``href`` when given); the link."""
    page.wait_for_selector("#download:not([hidden])", timeout=60_000)
    assert f"frames {frames})" in page.inner_text("#result-caption")
    assert page.is_checked(f"input[name=extent][value={extent}]")
    assert page.inner_text("#range-label") == f"frames {frames}"
    link = page.get_attribute("#download", "href")
    assert href is None or link == href
    assert page.inner_text("#download").startswith("Download ")
    return link


def paint(page: Page) -> None:
    """One stroke across the middle of the stack (a painted stack is kept when the burst is stacked again)."""
    page.wait_for_selector("#retouch:not([hidden])")
    page.wait_for_function("document.querySelector('#result').dataset.revision === '0'")
    box = page.locator("#result").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.4, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=5)
    page.mouse.up()
    page.wait_for_function("document.querySelector('#result').dataset.revision === '1'")


def start_deep_stack(page: Page) -> None:
    """Stack all frames in 5 slabs from the page; return once it runs."""
    page.check("input[name=extent][value=all]")
    page.fill("#slabs", "5")
    page.click("#stack")
    page.wait_for_selector("#stack-cancel:not([hidden])")


def test_the_stack_page_keeps_its_last_stack_across_a_reload_and_a_restart(tmp_path: Path,
                                                                           new_page: Callable[..., Page]) -> None:
    base = tmp_path / "serve"
    servers = [start_server(base, fps=FPS, size=BIG)]
    try:
        started = requests.post(f"{servers[0].url}/api/cameras/sim:macro/sweep",
                                json={"range": [25, 195], "frames": FRAMES}, timeout=10)
        finished_job(servers[0], started)
        burst = started.json()["burst"]
        page = new_page()
        page.goto(f"{servers[0].url}/stack/{burst}")
        page.wait_for_function("document.querySelector('#single').naturalWidth > 0")
        for slider, value in (("#range-first", 3), ("#range-last", 9)):  # moving one chooses "A range"
            page.eval_on_selector(slider, f"el => {{ el.value = {value}; el.dispatchEvent(new Event('input')); }}")
        page.click("#stack")
        href = shows_stack(page, "4–10", "range")
        paint(page)
        page.reload()
        shows_stack(page, "4–10", "range", href)

        # a deep stack of all frames in slabs, cut by a restart: said once, and Stack works again
        start_deep_stack(page)
        restart(servers, page, base, size=BIG)
        page.wait_for_selector("#stack-status >> text=The server restarted", timeout=30_000)
        assert page.inner_text("#stack-status") == "The server restarted: the stack was interrupted; run it again."
        assert page.is_enabled("#stack")
        assert page.is_hidden("#stack-cancel")
        assert page.is_hidden("#stack-progress")  # a bar cut short says nothing true
        page.reload()
        shows_stack(page, "4–10", "range", href)

        # run again, and followed by the page reloaded while it runs, to its end
        start_deep_stack(page)
        page.reload()
        page.wait_for_selector("#stack-cancel:not([hidden])")
        assert page.is_disabled("#stack")
        page.wait_for_selector("#stack-cancel", state="hidden", timeout=60_000)
        whole = shows_stack(page, f"1–{FRAMES}", "all")
        assert whole != href
        page.reload()
        shows_stack(page, f"1–{FRAMES}", "all", whole)
        # the earlier stack restored to paint on: the page says that one again
        page.wait_for_selector("#retouch-earlier:not([hidden])")
        page.click("#retouch-restore")
        page.wait_for_function("document.querySelector('#range-label').textContent === 'frames 4–10'")
        shows_stack(page, "4–10", "range", href)
    finally:
        for server in servers:
            stop_server_process(server.process)
