"""An export from the Bursts page that left out a damaged frame says which, beside its download link (a real
browser against a real ``tether serve``, on a burst with one frame's bytes changed in the file)."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest
from playwright.sync_api import Page

from tests.burst.test_export_failures import flip_a_byte
from tether.burst import BurstWriter, FrameMeta

if TYPE_CHECKING:
    from tests.web.browser.conftest import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def damaged_burst(server: Server, tmp_path: Path) -> str:
    """Six frames, the fifth damaged in the file (its checksum no longer matches), in the server's data dir."""
    burst_id = time.strftime("%Y%m%d-%H%M%S") + "-da4a9e"
    whole = tmp_path / "whole.burst"
    rng = np.random.default_rng(5)
    with BurstWriter.create(whole, camera={"model": "test"}, sweep={"mode": "liveview"}, fsync=False) as writer:
        for k in range(6):
            picture = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
            writer.append(cv2.imencode(".jpg", picture)[1].tobytes(), FrameMeta(focus_position=10 * k))
    flip_a_byte(whole, server.data_dir / "bursts" / f"{burst_id}.burst", "frames/000004.jpg")
    whole.unlink()
    return burst_id


def test_an_export_names_the_damaged_frames_it_left_out(server: Server, new_page: Callable[..., Page],
                                                        tmp_path: Path) -> None:
    burst = damaged_burst(server, tmp_path)
    page = new_page()
    page.goto(f"{server.url}/bursts")
    card = page.locator(f".burst-card[data-burst='{burst}']")
    card.get_by_role("button", name="Export JPEGs").click()
    status = page.locator(f"#status-{burst}-zip")
    status.locator("a").wait_for()
    said = status.inner_text()
    assert said.startswith(f"Download {burst}") and said.endswith(" Exported 5 frames; left out damaged frame 5"), said
    assert status.locator(".warning").count() == 1  # set apart: the export is not the whole burst
