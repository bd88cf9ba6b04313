"""Issue 18's first Done-when line in a real browser against a real ``tether serve`` (restarted twice):
a session is created in the panel, a barcode typed into it, three stills and a sweep land in it with the
template's names, none reused across the restarts; each still shows in the panel with its EXIF as it
arrives; the gallery filters by the session, a burst is titled and noted there and found by its notes."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page

from tests.web.browser.conftest import start_server, stop_server_process
from tests.web.browser.test_panel_a import sweep_from_page

if TYPE_CHECKING:
    from tests.web.browser.conftest import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TEMPLATE = "{session}-{subject}-{seq:03}"
#: A fast live view: the sweep takes a frame each, so this keeps it short.
FPS = 30.0


def capture(page: Page, count: int) -> list[str]:
    """Press Capture and wait for the still to show in the strip; the names shown, newest first."""
    page.wait_for_selector("#connection[data-state=connected]", timeout=30_000)
    page.wait_for_function("!document.querySelector('main').inert")
    page.wait_for_selector("#camera-state:not([data-state=unknown]):not([data-state=disconnected])", timeout=30_000)
    page.click("#capture")
    page.wait_for_function(f"document.querySelectorAll('#stills-list figure').length === {count}", timeout=30_000)
    return page.locator("#stills-list .still-name").all_inner_texts()


def test_a_session_gets_three_stills_and_a_sweep_across_two_restarts(tmp_path: Path,
                                                                    new_page: Callable[..., Page]) -> None:
    base = tmp_path / "serve"
    servers: list[Server] = [start_server(base, fps=FPS)]
    try:
        page = new_page()
        page.goto(f"{servers[0].url}/")
        page.wait_for_selector("#connection[data-state=connected]")
        page.wait_for_selector("#session-chooser option[value=default]", state="attached")
        page.click("#session-new")
        page.fill("#session-form [name=name]", "Acme spring")
        page.fill("#session-form [name=client]", "Acme")
        page.fill("#session-template", TEMPLATE)
        page.click("#session-form button[type=submit]")
        page.wait_for_function("document.querySelector('#session-chooser').value === 'Acme-spring'")
        # a barcode scanner types the code and presses Enter
        page.fill("#session-subject", "4006381333931")
        page.press("#session-subject", "Enter")
        # saved, then selected so that the next scan replaces it
        page.wait_for_function("(i => i.selectionStart === 0 && i.selectionEnd === 13)"
                               "(document.querySelector('#session-subject'))")

        assert capture(page, 1) == ["Acme-spring-4006381333931-001.JPG"]
        figure = page.locator("#stills-list figure").first
        assert figure.locator(".exif").inner_text() == "1/125 s · ISO 200 · f/2.8"
        page.wait_for_function("document.querySelector('#stills-list img').naturalWidth > 0")

        for restart, expected in ((1, "002"), (2, "003")):
            stop_server_process(servers[-1].process)
            page.wait_for_selector("#connection[data-state=disconnected]")
            servers.append(start_server(base, port=servers[0].port, fps=FPS))
            # the restarted server still captures into the session, with the code, from the saved counter
            names = capture(page, restart + 1)
            assert names[0] == f"Acme-spring-4006381333931-{expected}.JPG", names
        assert page.input_value("#session-chooser") == "Acme-spring"
        assert page.input_value("#session-subject") == "4006381333931"
        # the next product: clicked into, the field is the scanner's again, and the new code replaces the old
        page.click("#session-subject")
        page.wait_for_function("document.querySelector('#session-subject').selectionEnd === 13")
        page.keyboard.type("4006381333948")
        page.keyboard.press("Enter")
        assert page.input_value("#session-subject") == "4006381333948"

        postfocus = sweep_from_page(servers[-1], new_page, 100, 160, 3)
        postfocus.wait_for_selector("#open-refocus", timeout=60_000)
        assert postfocus.get_attribute("#open-refocus", "href") == "/refocus/Acme-spring-4006381333948-004"

        folder = servers[-1].data_dir / "sessions" / "Acme-spring"
        assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
            "Acme-spring-4006381333931-001.JPG", "Acme-spring-4006381333931-002.JPG",
            "Acme-spring-4006381333931-003.JPG", "Acme-spring-4006381333948-004.burst"]
        assert not any((servers[-1].data_dir / "exports").iterdir())

        gallery = new_page()
        gallery.goto(f"{servers[-1].url}/bursts")
        gallery.wait_for_selector("#filter-session option[value=Acme-spring]", state="attached")
        gallery.select_option("#filter-session", "Acme-spring")
        card = gallery.locator("[data-burst='Acme-spring-4006381333948-004']")
        card.locator("button", has_text="Rename / notes").click()
        card.locator("[name=title]").fill("Red sneaker, side")
        card.locator("[name=notes]").fill("glossy toe cap, re-shoot with polariser")
        card.locator("button[type=submit]").click()
        gallery.wait_for_function("document.querySelector('#gallery h3').textContent === 'Red sneaker, side'")
        gallery.fill("#search", "polariser")
        gallery.wait_for_function("document.querySelectorAll('#gallery .burst-card').length === 1")
        gallery.fill("#search", "matte")
        gallery.wait_for_selector("#gallery >> text=No burst matches.")
        gallery.select_option("#filter-session", "default")
        gallery.fill("#search", "")
        gallery.wait_for_selector("#gallery >> text=No burst matches.")
    finally:
        for server in servers:
            stop_server_process(server.process)
