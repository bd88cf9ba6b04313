"""The Camera page's naming hint says what the server will call the next capture: the camera's own names
before any session, a session's next name (its template filled in) once one is chosen, moving on with each
capture. A real ``tether serve`` on the simulated camera, Chromium at desktop size."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
import requests
from playwright.sync_api import Page

if TYPE_CHECKING:
    from tests.web.browser.conftest import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def hint_becomes(page: Page, start: str) -> str:
    page.wait_for_function("text => document.querySelector('#session-naming').textContent.startsWith(text)",
                           arg=start)
    return page.inner_text("#session-naming")


def captured_name(page: Page) -> str:
    page.evaluate("document.querySelector('#capture-result').replaceChildren()")
    page.click("#capture")
    return page.wait_for_selector("#capture-result a").inner_text().removeprefix("Download ").split(" (")[0]


def test_the_hint_names_the_next_capture_as_it_will_be_saved(server: Server, new_page: Callable[..., Page]) -> None:
    page = new_page()
    page.goto(f"{server.url}/")
    page.wait_for_selector("#connection[data-state=connected]")
    assert hint_becomes(page, "names: ") == "names: stills keep the camera's, sweeps get the date and time"
    assert captured_name(page).startswith("SIM_")  # the camera's own name, as the hint says
    made = requests.post(f"{server.url}/api/sessions", timeout=10,
                         json={"name": "Hint test", "template": "{session}-{subject}-{seq:03}"})
    assert made.status_code == 201, made.text
    page.reload()
    page.wait_for_selector("#connection[data-state=connected]")
    assert hint_becomes(page, "next name: ") == "next name: Hint-test-001"
    page.fill("#session-subject", "SKU 42")
    page.press("#session-subject", "Enter")
    shown = hint_becomes(page, "next name: Hint-test-SKU-42").removeprefix("next name: ")
    assert shown == "Hint-test-SKU-42-001"
    assert captured_name(page).rsplit(".", 1)[0] == shown
    assert hint_becomes(page, "next name: Hint-test-SKU-42-002")  # the counter moved on, and the hint with it
    requests.post(f"{server.url}/api/sessions/default/use", timeout=10)
