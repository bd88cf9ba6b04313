"""Small real JPEG frames and ready-made bursts for the burst tests."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from tether.burst import BurstWriter, FrameMeta

CAMERA = {"model": "Test Cam", "serial": "T-1", "lens": "30mm macro", "id": "sim"}
SWEEP = {"range": [0, 400], "step_plan": "small x 2", "mode": "post-focus"}


def jpeg(i: int, width: int = 64, height: int = 48) -> bytes:
    """A small real JPEG whose content depends on ``i`` (so frames differ)."""
    rng = np.random.default_rng(i)
    image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    cv2.putText(image, str(i), (2, height - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


@pytest.fixture
def make_jpeg() -> Callable[..., bytes]:
    return jpeg


@pytest.fixture
def make_burst(tmp_path: Path) -> Callable[..., tuple[Path, list[bytes]]]:
    """Write a closed burst of ``n`` frames; returns its path and the frame bytes."""
    def make(n: int = 5, name: str = "b.zip", **kw) -> tuple[Path, list[bytes]]:
        path = tmp_path / name
        frames = [jpeg(i, **kw) for i in range(n)]
        with BurstWriter.create(path, camera=CAMERA, sweep=SWEEP) as writer:
            for i, data in enumerate(frames):
                writer.append(data, FrameMeta(captured_at=1_700_000_000 + i / 10, focus_position=i * 7,
                                              exposure={"iso": 200, "shutter": "1/60"}))
        return path, frames
    return make
