"""Retouching in a real browser against a real ``tether serve`` on the simulated camera (issue 19, Done when 1).

A stack of the near frames only leaves the far cork board soft: a region the stack got wrong. A stroke of
the mouse over it with the "sharpest frame" brush makes it match the scene's truth within 1 dB of the
sharpest frame there, and leaves no seam; undo gives the stack back bit for bit; the stroke survives a
server restart; the full-size export holds it; a slabbed stack offers its slabs to the brush, and the first
stack, stroke and all, is kept beside it to restore. The server is this test's own, stopped and started again.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest
import requests
from playwright.sync_api import Page

from tests.web.browser.conftest import start_server, stop_server_process
from tests.web.browser.test_panel import finished_job, shot

if TYPE_CHECKING:
    from tests.web.browser.conftest import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZE = (480, 320)
CAMERA = "/api/cameras/sim:macro"


def sweep(server: Server) -> str:
    """14 frames from before the nearest object (the coin) to beyond the farthest (the cork board)."""
    started = requests.post(f"{server.url}{CAMERA}/sweep", json={"range": [25, 195], "frames": 14}, timeout=10)
    finished_job(server, started)
    return str(started.json()["burst"])


def lossless(server: Server, burst: str) -> np.ndarray:
    response = requests.get(f"{server.url}/api/bursts/{burst}/retouch.png", timeout=10)
    assert response.status_code == 200, response.text
    return cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_UNCHANGED)


def frame(server: Server, burst: str, k: int) -> np.ndarray:
    data = requests.get(f"{server.url}/api/bursts/{burst}/frames/{k}.jpg", timeout=10).content
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    err = (a.astype(np.float64) - b.astype(np.float64))[mask]
    return 10 * math.log10(255.0 ** 2 / max(float(np.mean(err ** 2)), 1e-12))


def grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float64)


def test_a_stroke_mends_what_the_stack_got_wrong_and_survives_a_restart(tmp_path: Path,
                                                                         new_page: Callable[..., Page]) -> None:
    from tether.camera.sim import SceneTruth

    base = tmp_path / "serve"
    first = start_server(base, fps=30.0)
    second: Server | None = None
    try:
        burst = sweep(first)
        frames = requests.get(f"{first.url}/api/bursts/{burst}", timeout=10).json()["frames"]
        truth = SceneTruth("macro")
        board = truth.mask("cork board", SIZE)
        # the stack of the near half: the far cork board (sharp in the last frames) stays soft
        page = new_page()
        page.goto(f"{first.url}/stack/{burst}")
        page.wait_for_function("document.querySelector('#single').naturalWidth > 0")
        page.check("input[name=extent][value=range]")
        page.eval_on_selector("#range-first", "el => { el.value = 0; el.dispatchEvent(new Event('input')); }")
        page.eval_on_selector("#range-last", "el => { el.value = 6; el.dispatchEvent(new Event('input')); }")
        page.select_option("#format", "png")
        page.click("#stack")
        page.wait_for_selector("#retouch:not([hidden])", timeout=60_000)
        page.wait_for_function("document.querySelector('#result').dataset.revision === '0'")
        stacked = lossless(first, burst)

        # a stroke across the inside of the board, 24 px of radius on screen
        padded = np.pad(board.astype(np.uint8), 1)
        inside = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
        row, col = np.unravel_index(int(np.argmax(inside)), inside.shape)
        page.wait_for_function("document.querySelector('#result').complete")
        box = page.locator("#result").bounding_box()  # the picture (the canvas over it covers its zoom frame)
        assert box is not None
        scale = box["width"] / SIZE[0]
        radius_screen = round(30 * scale)  # a brush of 30 picture pixels
        page.eval_on_selector("#brush-size", f"el => {{ el.value = {radius_screen}; }}")
        page.eval_on_selector("#brush-hardness", "el => { el.value = 60; }")
        start, end = (col - 40, row), (col + 40, row)
        page.mouse.move(box["x"] + start[0] * scale, box["y"] + start[1] * scale)
        page.mouse.down()
        for t in np.linspace(0, 1, 12):
            x, y = start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1])
            page.mouse.move(box["x"] + x * scale, box["y"] + y * scale)
        page.mouse.up()
        page.wait_for_function("document.querySelector('#result').dataset.revision === '1'")
        retouched = lossless(first, burst)
        stroke = requests.get(f"{first.url}/api/bursts/{burst}/retouch", timeout=10).json()["strokes"][0]
        assert stroke["brush"] == "sharpest"
        shot(page, "retouch")

        # where the stroke's hard core is: within hardness x radius of its path (minus a pixel for rounding)
        radius = stroke["radius"]
        path = np.full((SIZE[1], SIZE[0]), 255, np.uint8)
        points = np.rint(np.array(stroke["points"])).astype(np.int32)
        cv2.polylines(path, [points], False, 0, 1)
        distance = cv2.distanceTransform(path, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        core = (distance <= 0.6 * radius - 1) & board
        assert core.sum() > 1000
        reference = truth.all_in_focus(SIZE, focus_position=frames[0]["focus_position"])
        mended = psnr(retouched, reference, core)
        sharpest = max(psnr(frame(first, burst, f["index"]),
                            truth.all_in_focus(SIZE, focus_position=f["focus_position"]), core) for f in frames)
        assert mended >= sharpest - 1.0, (mended, sharpest, psnr(stacked, reference, core))
        assert mended > psnr(stacked, reference, core) + 1.0  # and it was wrong before
        # no seam: over the stroke's soft edge its mean grey is the surroundings' it blends into (the stack's
        # there before the stroke), though inside it the sharp frame replaced the blur
        edge = (distance > 0.6 * radius) & (distance < radius) & board
        assert abs(grey(retouched)[edge].mean() - grey(stacked)[edge].mean()) <= 1.0
        np.testing.assert_array_equal(retouched[distance > radius + 1], stacked[distance > radius + 1])

        page.click("#retouch-undo")
        page.wait_for_function("document.querySelector('#result').dataset.revision === '2'")
        np.testing.assert_array_equal(lossless(first, burst), stacked)  # bit for bit
        page.click("#retouch-redo")
        page.wait_for_function("document.querySelector('#result').dataset.revision === '3'")

        stop_server_process(first.process)
        second = start_server(base, port=first.port, fps=30.0)
        page.reload()
        page.wait_for_function("document.querySelector('#result').dataset.revision === '3'", timeout=30_000)
        assert "1 stroke" in page.inner_text("#retouch-status")
        np.testing.assert_array_equal(lossless(second, burst), retouched)
        page.select_option("#format", "png")
        page.click("#retouch-export")
        page.wait_for_selector("#retouch-download:not([hidden])", timeout=60_000)
        # the export is said beside its link; the layer's line still says what is painted
        assert page.inner_text("#retouch-status").startswith("1 stroke over the stack of frames 1–7")
        assert ": done" in page.inner_text("#retouch-export-status")
        with page.expect_download() as info:
            page.click("#retouch-download")
        saved = tmp_path / info.value.suggested_filename
        info.value.save_as(saved)
        exported = cv2.imread(str(saved), cv2.IMREAD_UNCHANGED)
        assert exported.shape[:2] == (SIZE[1], SIZE[0])
        np.testing.assert_array_equal(exported, retouched)

        # slabs from the stack options: a new stack, a new layer, and a stroke that copies a slab
        page.check("input[name=extent][value=all]")  # the page shows the last stack's range (frames 1-7)
        page.fill("#slabs", "2")
        page.click("#stack")
        page.wait_for_function("document.querySelector('#result').dataset.revision === '0'", timeout=60_000)
        page.wait_for_function("document.querySelectorAll('#retouch-source option').length === 3")
        page.select_option("#retouch-source", "slab-1")
        assert page.input_value("#brush") == "chosen"
        box = page.locator("#result").bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function("document.querySelector('#result').dataset.revision === '1'")
        layer = requests.get(f"{second.url}/api/bursts/{burst}/retouch", timeout=10).json()
        assert layer["about"]["slabs"] == 2 and len(layer["slabs"]) == 2
        assert [s["source"] for s in layer["strokes"]] == [{"kind": "slab", "number": 1}]

        # stacking again, from the page or a script, kept the painted stacks: Restore paints on the first again
        assert page.is_visible("#retouch-earlier") and "1 earlier stack is kept" in page.inner_text("#retouch-status")
        finished_job(second, requests.post(f"{second.url}/api/bursts/{burst}/stack", json={}, timeout=10))
        page.wait_for_function("document.querySelector('#retouch-status').textContent.startsWith("
                               "'0 strokes over the stack of frames 1–14; 2 earlier stacks are kept')")
        page.select_option("#retouch-earlier-stack", label="1 stroke over the stack of frames 1–7")
        page.click("#retouch-restore")
        first_stack = layer["earlier"][0]["stack"]
        page.wait_for_function(f"document.querySelector('#result').dataset.stack === '{first_stack}'")
        assert page.inner_text("#retouch-status").startswith("1 stroke over the stack of frames 1–7;")
        np.testing.assert_array_equal(lossless(second, burst), retouched)
        assert page.locator("#retouch-earlier-stack option").all_inner_texts() == [
            "0 strokes over the stack of frames 1–14", "1 stroke over the stack of frames 1–14 (2 slabs)"]
    finally:
        stop_server_process(first.process)
        if second is not None:
            stop_server_process(second.process)
