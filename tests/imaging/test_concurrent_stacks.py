"""Two stacks at once on the engine's pool give the same pictures as the same two one after the other.

The pool runs stacks on two worker threads; nothing one stack keeps (alignment caches, fusion
state) may be seen or dropped by the other.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tether.burst import BurstWriter, FrameMeta
from tether.config import Settings
from tether.engine import Engine

#: (seed, frames, breathing per frame, stacking method) of the two bursts.
STACKS = ((3, 10, 0.004, "pyramid"), (4, 12, -0.003, "depthmap"))


def write_burst(engine: Engine, frames: list[np.ndarray]) -> str:
    burst_id, path = engine.store.new_burst_path()
    with BurstWriter.create(path, camera={"model": "Test rig"}, sweep={"mode": "liveview"}) as writer:
        for k, image in enumerate(frames):
            data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
            writer.append(data, FrameMeta(captured_at=1_700_000_000 + k, focus_position=10 * k))
    return burst_id


@pytest.fixture
def engines(data_dir: Path) -> Iterator[Callable[[], Engine]]:
    """Engines with the pool's two workers over one data dir, each with its own in-memory caches."""
    made: list[Engine] = []

    def make() -> Engine:
        settings = Settings().with_overrides({"paths": {"data_dir": str(data_dir)}})
        made.append(Engine(settings, camera_id="sim:macro", simulated=True, workers=2))
        return made[-1]

    yield make
    for engine in made:
        engine.close()


@pytest.fixture
def fine_switching() -> Iterator[None]:
    """Switch threads every microsecond (not every 5 ms) so the two stacks interleave finely."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def stacked(engine: Engine, result: dict) -> np.ndarray:
    return cv2.imread(str(engine.store.export(result["export"]).path), cv2.IMREAD_UNCHANGED)


def test_two_stacks_at_once_match_the_two_one_after_the_other(engines, synthetic, fine_switching) -> None:
    first = engines()
    bursts = [write_burst(first, synthetic(n, (240, 320), breathing=breathing, seed=seed).frames)
              for seed, n, breathing, _ in STACKS]
    methods = [method for *_, method in STACKS]

    alone = []
    for burst_id, method in zip(bursts, methods, strict=True):
        job = first.bursts.start_stack(burst_id, method=method, fmt="png", frames=None)
        alone.append(stacked(first, job.future.result(timeout=60)))

    second = engines()  # no focus index in memory: both stacks align their frames again, now at once
    jobs = [second.bursts.start_stack(b, method=m, fmt="png", frames=None)
            for b, m in zip(bursts, methods, strict=True)]
    together = [stacked(second, job.future.result(timeout=60)) for job in jobs]

    assert all(job.started < min(j.finished for j in jobs) for job in jobs), "the two stacks did not overlap"
    for one, other in zip(alone, together, strict=True):
        assert one.shape == (240, 320, 3)
        assert np.array_equal(one, other)
    assert not np.array_equal(alone[0], alone[1])
