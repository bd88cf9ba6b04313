"""The control panel as a photographer meets it (issue 16): what a restart, a refused setting, a cancel,
the plan text, a reload and a too-sparse sweep look like in a real browser against a real ``tether serve``.

One server on the simulated camera serves the module, with one pre-scan made through the REST API
(``prescanned``); the restart test runs a server of its own, stopped and started again on its port.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from playwright.sync_api import Page

from tests.web.browser.conftest import start_server, stop_server_process
from tests.web.browser.test_panel import finished_job, frame_signature

if TYPE_CHECKING:
    from tests.web.browser.conftest import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CAMERA = "/api/cameras/sim:macro"


#: The simulated camera's live-view rate here: pre-scans and sweeps take a frame each, so a faster camera
#: keeps this module's scans short (the shared ``server`` runs at 12 fps).
FPS = 30.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """This module's loopback server, shared by its tests (all but the restart)."""
    srv = start_server(tmp_path_factory.mktemp("serve"), fps=FPS)
    yield srv
    stop_server_process(srv.process)


@pytest.fixture(scope="module")
def prescanned(server: Server) -> dict[str, Any]:
    """The module server's camera pre-scanned once, as the Pre-scan button does; its result."""
    return finished_job(server, requests.post(f"{server.url}{CAMERA}/prescan", json={}, timeout=10))["result"]


def cancel(server: Server, job_id: str) -> None:
    """Cancel a job through the REST API and wait until it has stopped."""
    requests.post(f"{server.url}/api/jobs/{job_id}/cancel", timeout=10)
    while requests.get(f"{server.url}/api/jobs/{job_id}", timeout=10).json()["state"] in ("queued", "running"):
        time.sleep(0.1)


@pytest.fixture(autouse=True)
def idle_camera(server: Server) -> Iterator[None]:
    """Every test leaves the shared camera idle, even one that failed with its sweep still running."""
    yield
    for job in requests.get(f"{server.url}/api/jobs", timeout=10).json():
        if job["state"] in ("queued", "running"):
            cancel(server, job["job"])


def sweep_from_page(server: Server, new_page: Callable[..., Page], near: int, far: int, frames: int | None,
                    mode: str = "liveview") -> Page:
    """A Post Focus page that has started a sweep in ``mode`` over near-far in so many frames (None: auto)."""
    page = new_page()
    page.goto(f"{server.url}/postfocus")
    page.wait_for_selector("#connection[data-state=connected]")
    page.select_option("#mode", mode)
    page.fill("#range-near", str(near))
    page.fill("#range-far", str(far))
    page.fill("#frames", "" if frames is None else str(frames))
    page.click("#sweep")
    return page


@contextmanager
def running_sweep(server: Server, **options: Any) -> Iterator[str]:
    """Start a long sweep through the REST API, yield its job id once it takes frames, cancel it after."""
    started = requests.post(f"{server.url}{CAMERA}/sweep", json={"range": [20, 200], "step": "small", **options},
                            timeout=10)
    assert started.status_code == 202, started.text
    job_id = started.json()["job"]
    try:
        while requests.get(f"{server.url}/api/jobs/{job_id}", timeout=10).json()["done"] < 1:
            time.sleep(0.1)
        yield job_id
    finally:
        cancel(server, job_id)


def distinct_frames(page: Page, count: int = 3, within: float = 15) -> int:
    """How many different live-view pictures the page shows within ``within`` seconds (stops at ``count``)."""
    signatures = set()
    deadline = time.monotonic() + within
    while len(signatures) < count and time.monotonic() < deadline:
        signatures.add(frame_signature(page))
        page.wait_for_timeout(150)
    return len(signatures)


def test_live_view_and_actions_come_back_after_a_server_restart(tmp_path: Path,
                                                                 new_page: Callable[..., Page]) -> None:
    base = tmp_path / "serve"
    first = start_server(base, fps=FPS)
    second: Server | None = None
    try:
        page = new_page()
        page.goto(f"{first.url}/")
        page.wait_for_selector("#connection[data-state=connected]")
        page.wait_for_function("document.querySelector('#live-img').naturalWidth === 480")
        page.wait_for_function("document.querySelector('#liveview-fps').textContent !== '– fps'")
        scanned = finished_job(first, requests.post(f"{first.url}{CAMERA}/prescan", json={}, timeout=10))["result"]

        stop_server_process(first.process)
        # the photographer is told the server is gone, and nothing that needs it pretends to work
        page.wait_for_function("document.querySelector('#connection').textContent.includes('unreachable')")
        assert page.evaluate("document.querySelector('main').inert")
        assert page.get_attribute("#camera-state", "data-state") == "unknown"
        assert page.inner_text("#liveview-fps") == "– fps"
        answer = page.evaluate("""() => import('/static/js/core.js').then(({ api }) =>
            api('GET', '/api/cameras').then(() => 'answered', (err) => err.message))""")
        assert "unreachable" in answer and "fetch" not in answer.lower()

        second = start_server(base, port=first.port, fps=FPS)
        page.wait_for_selector("#connection[data-state=connected]", timeout=30_000)
        assert not page.evaluate("document.querySelector('main').inert")
        # live pictures again, without a reload: several different frames, and a frame rate measured anew
        assert distinct_frames(page) >= 3, "the live view did not come back"
        page.wait_for_function("document.querySelector('#liveview-fps').textContent !== '– fps'")
        assert page.get_attribute("#camera-state", "data-state") != "unknown"
        # the pre-scan made before the restart is still the Post Focus page's starting point
        postfocus = new_page()
        postfocus.goto(f"{second.url}/postfocus")
        postfocus.wait_for_selector("#curves[data-ready=true]")
        assert [int(postfocus.input_value("#range-near")), int(postfocus.input_value("#range-far"))] == scanned["range"]
    finally:
        stop_server_process(first.process)
        if second is not None:
            stop_server_process(second.process)


def test_a_refused_setting_shows_the_cameras_value_again(server: Server, new_page: Callable[..., Page]) -> None:
    page = new_page()
    page.goto(f"{server.url}/")
    page.wait_for_selector("[data-setting=aperture]")
    before = requests.get(f"{server.url}{CAMERA}/settings", timeout=10).json()
    aperture = next(s for s in before if s["name"] == "aperture")
    other = next(c for c in aperture["choices"] if c != aperture["value"])
    with running_sweep(server):
        page.select_option("[data-setting=aperture]", other)
        assert "busy" in page.wait_for_selector(".toast.error").inner_text().lower()
        page.wait_for_function(f"document.querySelector('[data-setting=aperture]').value === '{aperture['value']}'")
    now = requests.get(f"{server.url}{CAMERA}/settings", timeout=10).json()
    assert next(s for s in now if s["name"] == "aperture")["value"] == aperture["value"]


def test_cancelling_a_sweep_is_reported_as_a_cancel(server: Server, new_page: Callable[..., Page]) -> None:
    page = sweep_from_page(server, new_page, 20, 200, 60)
    # this sweep's own bar: the page may have opened on the last sweep's, full (a reload shows the last sweep)
    page.wait_for_function("document.querySelector('#sweep-cancel').hidden === false", timeout=60_000)
    page.wait_for_function("Number(document.querySelector('#sweep-bar').dataset.fraction) > 0.1", timeout=60_000)
    page.click("#sweep-cancel")
    page.wait_for_function("/cancel/i.test(document.querySelector('#sweep-status').textContent)")
    status = page.inner_text("#sweep-status")
    frames = int(re.search(r"after (\d+) frame", status).group(1))  # type: ignore[union-attr]
    assert frames >= 6 and "left" not in status and "fps" not in status
    assert page.locator(".toast.error").count() == 0
    assert page.locator("#open-refocus").count() == 1  # the frames taken are kept


def test_a_new_sweep_starts_from_an_empty_bar(server: Server, new_page: Callable[..., Page]) -> None:
    page = sweep_from_page(server, new_page, 20, 60, 4)
    page.wait_for_selector("#open-refocus", timeout=60_000)
    assert float(page.get_attribute("#sweep-bar", "data-fraction") or "0") == 1.0
    # the finished sweep says it is done, not the phase it was last in ("analysing")
    assert ": done" in page.inner_text("#sweep-status") and "(" not in page.inner_text("#sweep-status")
    # the next sweep starts from an empty bar and a fresh status, not where the last one ended
    page.click("#sweep")
    page.wait_for_function("document.querySelector('#sweep-cancel').hidden === false")
    assert float(page.get_attribute("#sweep-bar", "data-fraction") or "1") < 0.05
    assert "100 %" not in page.inner_text("#sweep-status")
    # cancelled before its first frame (the motor is still homing): nothing to refocus
    job = next(j for j in requests.get(f"{server.url}/api/jobs", timeout=10).json()
               if j["job_kind"] == "sweep" and j["state"] in ("queued", "running"))
    cancel(server, job["job"])
    page.wait_for_function("/before its first frame/.test(document.querySelector('#sweep-status').textContent)")
    assert page.locator("#open-refocus").count() == 0
    assert page.locator(".toast.error").count() == 0


def test_the_plan_says_one_frame_count_and_refuses_a_reversed_range(server: Server,
                                                                   new_page: Callable[..., Page]) -> None:
    page = new_page()
    page.goto(f"{server.url}/postfocus")
    page.wait_for_selector("#connection[data-state=connected]")
    page.fill("#range-near", "25")
    page.fill("#range-far", "199")
    for asked in ("60", "120", "8"):
        page.fill("#frames", asked)
        page.wait_for_function(f"document.querySelector('#frame-plan').textContent.includes('{asked} asked') || "
                               f"document.querySelector('#frame-plan').textContent.startsWith('{asked} frames')")
        text = page.inner_text("#frame-plan")
        planned = page.get_attribute("#frame-plan", "data-frames")
        # every frame count the text states is the one the sweep will take
        assert set(re.findall(r"(\d+) frames", text)) == {planned}, text
        assert ("as asked" in text) == (planned == asked), text
    # 8 frames a whole number of steps apart span more than 60-199 (by 1 to 15 steps, whatever step sizes a
    # pre-scan measured): the plan says where the first one is, and why
    page.fill("#range-near", "60")
    page.wait_for_function("document.querySelector('#frame-plan').textContent.includes('Near (60)')")
    assert re.search(r"\. The first frame is at \d+, \d+ steps? before Near \(60\): 8 frames [\d.]+ steps apart span "
                     r"\d+ steps, more than the range, and the last is kept at Far \(199\) rather than past it$",
                     page.inner_text("#frame-plan")), page.inner_text("#frame-plan")
    page.fill("#range-near", "50")
    page.fill("#range-far", "10")
    page.wait_for_function("document.querySelector('#frame-plan').textContent.includes('nearer than Near')")
    assert page.is_disabled("#sweep")
    assert page.get_attribute("#frame-plan", "data-frames") is None


def test_the_last_prescan_is_shown_after_a_reload(server: Server, prescanned: dict[str, Any],
                                                  new_page: Callable[..., Page]) -> None:
    page = new_page()
    page.goto(f"{server.url}/postfocus")
    # curves drawn and the range of the pre-scan made before this page was opened
    page.wait_for_selector("#curves[data-ready=true]")
    # the range is the pre-scan's, unless a sweep with a range of its own came after it (a reload shows that
    # sweep again: tests/web/browser/test_last_sweep.py); other tests on this server may have swept since
    camera = page.request.get(f"{server.url}/api/state").json()["cameras"][0]
    sweep, prescan = camera.get("last_sweep"), camera["last_prescan"]
    later = sweep is not None and sweep.get("range") and sweep["saved_at"] > prescan["saved_at"]
    expected = sweep["range"] if later else prescanned["range"]
    assert [int(page.input_value("#range-near")), int(page.input_value("#range-far"))] == expected
    drawn = page.evaluate("""() => { const c = document.querySelector('#curves');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let lit = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i]) lit++; return lit; }""")
    assert drawn > 2000, "the pre-scan's curves are not drawn"
    page.wait_for_selector("#frame-plan[data-frames]")  # the plan is asked of the server after the curves
    assert page.inner_text("#frame-plan").split()[1] == "frames"


def test_a_too_sparse_sweep_names_the_spacing(server: Server, prescanned: dict[str, Any],
                                              new_page: Callable[..., Page]) -> None:
    # the farthest subject the pre-scan found (185.6 in the scene; its fitted peak varies by a few steps
    # with the live-view timing) lies inside the range: the range is not what to change, the spacing is.
    # The last frame is a few steps past it and the one before about 25 steps short, so that subject is
    # sharpest at the last frame: read from the curves alone it would look beyond the range. The spacing
    # is named whichever frame each subject lands nearest (before, only when one was sharpest at an end
    # frame: with a loaded machine the frames landed elsewhere and the page said nothing)
    farthest = max(p["position"] for p in prescanned["peaks"] if p["subject"])
    far = min(235, round(farthest) + 4)  # the lens stops at 240
    assert farthest < far
    page = sweep_from_page(server, new_page, 25, far, 8, mode="stills")
    page.wait_for_selector("#open-refocus", timeout=60_000)
    warnings = page.inner_text("#coverage")
    assert "extend the range toward infinity" not in warnings
    assert "steps apart" in warnings and "allow more frames" in warnings
    # the overlay does not call it covered either
    page.wait_for_selector("#coverage-map[data-clean]", timeout=20_000)
    assert page.get_attribute("#coverage-map", "data-clean") == "false"
    assert "too far apart for the depth of field" in page.inner_text("#coverage-map")


def test_a_range_past_the_far_stop_stops_there_and_is_refused_after(server: Server, prescanned: dict[str, Any],
                                                                     new_page: Callable[..., Page]) -> None:
    # the simulated lens stops at 240 small steps; Far 400 lies well past it. Frames spaced by the pre-scan's
    # depth of field, a step or two apart: too fine for one step to change the live view visibly.
    page = sweep_from_page(server, new_page, 150, 400, None)
    page.wait_for_selector("#open-refocus", timeout=60_000)
    warning = re.search(r"far stop at ~(\d+) steps; stopped", page.inner_text("#coverage"))
    assert warning, page.inner_text("#coverage")
    # (the stop is seen a few frames after the lens reached it: later when the machine is busy)
    assert 225 <= int(warning.group(1)) <= 270
    burst = page.get_attribute("#open-refocus", "href").rsplit("/", 1)[1]  # type: ignore[union-attr]
    frames = requests.get(f"{server.url}/api/bursts/{burst}", timeout=10).json()["frames"]
    assert max(f["focus_position"] for f in frames) < 300, "the sweep went on at the stop"
    # from now on the panel keeps Near and Far inside the lens's travel
    assert "far stop" in page.inner_text("#frame-plan")
    assert page.is_disabled("#sweep")
    page.fill("#range-far", "5000")
    page.wait_for_function("document.querySelector('#frame-plan').textContent.includes('far stop')")
    assert page.is_disabled("#sweep")
    page.fill("#range-far", "220")
    page.wait_for_function("document.querySelector('#frame-plan').dataset.frames !== undefined")
    assert page.is_enabled("#sweep")


def test_a_camera_that_cannot_record_offers_no_movie(tmp_path: Path, new_page: Callable[..., Page]) -> None:
    """Issue 14: the Post Focus page offers Movie only to a camera that records; the API refuses it clearly."""
    srv = start_server(tmp_path / "serve", fps=FPS, sim="movie = false\n")
    try:
        page = new_page()
        page.goto(f"{srv.url}/postfocus")
        page.wait_for_selector("#connection[data-state=connected]")
        page.wait_for_function("document.querySelector('#mode option[value=movie]').disabled")
        assert page.is_enabled("#mode option[value=liveview]") and page.input_value("#mode") != "movie"
        refused = requests.post(f"{srv.url}{CAMERA}/sweep", json={"mode": "movie", "range": [20, 60]}, timeout=10)
        assert refused.status_code == 422 and "movie" in refused.json()["error"], refused.text
        assert requests.get(f"{srv.url}/api/jobs", timeout=10).json() == []  # nothing started, nothing moved
    finally:
        stop_server_process(srv.process)
