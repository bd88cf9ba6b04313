"""Pass 1 while capturing: the sweep's burst holds its focus index when the sweep returns, built off the
camera thread from a bounded hand-over that never makes the camera wait."""
from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np
import pytest

from tether.burst import open_burst
from tether.camera.sim.dng import dng_bytes
from tether.camera.sim.exif import Exposure
from tether.camera.types import StepClass
from tether.capture import SweepOptions, run_sweep
from tether.capture.live_analysis import LiveAnalysis, capture_first
from tether.capture.sweep import Hooks
from tether.config import Settings
from tether.engine import Engine
from tether.engine.burst_frames import BurstFrames
from tether.errors import Cancelled
from tether.imaging import FOCUS_INDEX_NAME, METHODS, ArrayFrames, FocusIndex, compute_focus_index
from tether.imaging.rawfile import decode_raw


def _jpegs(count: int, shape: tuple[int, int] = (120, 160), seed: int = 2) -> list[bytes]:
    """A small focal stack (a textured slant, blur growing away from each frame's plane), as camera JPEGs."""
    rng = np.random.default_rng(seed)
    h, w = shape
    texture = cv2.resize(rng.uniform(0, 255, (h // 4, w // 4, 3)).astype(np.float32), (w, h))
    texture += rng.normal(0, 25, texture.shape).astype(np.float32)
    depth = np.linspace(0, count - 1, w, dtype=np.float32)[None, :].repeat(h, 0)
    out = []
    for k in range(count):
        blurred = cv2.GaussianBlur(texture, (0, 0), 3.0)
        t = np.clip(np.abs(depth - k) / 2.0, 0, 1)[..., None]
        image = np.clip((1 - t) * texture + t * blurred, 0, 255).astype(np.uint8)
        out.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes())
    return out


def _decoded(jpegs: list[bytes]) -> ArrayFrames:
    return ArrayFrames([cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR) for j in jpegs])


def test_a_sweep_ends_with_its_focus_index_stored_after_its_last_frame_and_preview(truth_camera, tmp_path) -> None:
    camera = truth_camera("sim:macro")
    events: list[tuple[str, int]] = []
    hooks = Hooks(on_saved=lambda index, pos: events.append(("frame", index)),
                  on_captured=lambda frames: events.append(("captured", frames)),
                  on_preview=lambda jpeg, frames: events.append(("preview", frames)),
                  progress=lambda done, total, **kw: kw.get("phase") == "analysing" and events.append(("analysing", 0)),
                  analyse=True)
    burst = tmp_path / "live.burst"
    result = run_sweep(camera, SweepOptions(range=(40, 160), step=StepClass.SMALL, step_count=8), burst, hooks)
    frames = result["frames"]
    assert frames >= 10 and result["focus_index"] is True
    kinds = [kind for kind, _ in events]
    captured = kinds.index("captured")
    # every frame before "captured" (previews among them, as the frames come); the preview of the whole
    # sweep after it, before run_sweep returns
    assert kinds[:captured].count("frame") == frames and "frame" not in kinds[captured:]
    assert "analysing" not in kinds[:captured]  # catching up, if it must, comes after the capture
    assert events[captured] == ("captured", frames)
    previews = [n for kind, n in events if kind == "preview"]
    assert previews[-1] == frames and previews == sorted(previews)
    with open_burst(burst) as reader:
        assert FOCUS_INDEX_NAME in reader.derived_names()
        stored = reader.derived(FOCUS_INDEX_NAME)
        # the index a refocus or stack would have computed from the burst, exactly
        assert stored == compute_focus_index(BurstFrames(reader)).to_bytes()
    assert FocusIndex.from_bytes(stored).frame_count == frames


def test_the_camera_never_waits_for_the_analysis_which_catches_up_from_the_burst() -> None:
    jpegs = _jpegs(10)
    release = threading.Event()
    held_at_first_preview: list[int] = []
    reread: list[int] = []

    def stuck_preview(jpeg: bytes, frames: int) -> None:  # the worker hangs here after frame 0
        if not held_at_first_preview:
            held_at_first_preview.append(frames)
            release.wait()

    def from_burst(n: int) -> bytes:
        reread.append(n)
        return jpegs[n]

    analysis = LiveAnalysis(reread=from_burst, on_preview=stuck_preview, hold=3, preview_interval=0.0)
    for data in jpegs:
        analysis.offer(data)  # returns while the worker is stuck: a camera thread would go on capturing
    release.set()
    index = analysis.finish()
    assert index is not None and index.frame_count == 10
    assert index.to_bytes() == compute_focus_index(_decoded(jpegs)).to_bytes()
    # at most `hold` frames' bytes waited in memory; the rest were read back, in order
    assert len(reread) >= 10 - 1 - 3 and reread == sorted(reread)


def test_corrupt_frames_are_skipped_as_the_bursts_frame_source_skips_them() -> None:
    jpegs = _jpegs(6)
    analysis = LiveAnalysis()
    for k, data in enumerate(jpegs):
        analysis.offer(data[: len(data) // 3] if k == 2 else data, corrupt=k == 2)
    index = analysis.finish()
    assert index is not None
    assert index.to_bytes() == compute_focus_index(_decoded(jpegs[:2] + jpegs[3:])).to_bytes()


def test_raw_frames_are_analysed_as_the_stack_develops_them() -> None:
    # a camera shooting RAW (the simulated camera's DNGs): OpenCV cannot read them, so before the analysis
    # stopped at the first frame and refocus waited for pass 1 after the sweep
    frames = [cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR) for j in _jpegs(5)]
    dngs = [dng_bytes(f, make="tether", model="sim", exposure=Exposure("1/125", "5.6", "200")) for f in frames]
    analysis = LiveAnalysis()
    for data in dngs:
        analysis.offer(data)
    index = analysis.finish()
    assert index is not None and analysis.failure is None
    developed = ArrayFrames([decode_raw(d, "frame") for d in dngs])
    assert index.to_bytes() == compute_focus_index(developed).to_bytes()


@pytest.mark.parametrize("bad", [b"not an image at all", "other size"])
def test_what_the_analysis_cannot_do_leaves_the_index_to_be_computed_when_asked(bad) -> None:
    jpegs = _jpegs(4)
    analysis = LiveAnalysis()
    analysis.offer(jpegs[0])
    analysis.offer(_jpegs(1, (96, 160))[0] if bad == "other size" else bad)
    analysis.offer(jpegs[1])
    assert analysis.finish() is None and (analysis.failure or "").startswith("frame 2: ")  # the second, counted from 1


def test_a_cancelled_sweep_keeps_its_frames_and_leaves_the_index_for_later(truth_camera, tmp_path) -> None:
    camera = truth_camera("sim:macro")
    saved: list[int] = []

    def check() -> None:
        if len(saved) >= 3:
            raise Cancelled("cancelled")

    burst = tmp_path / "cancelled.burst"
    result = run_sweep(camera, SweepOptions(range=(40, 160), step=StepClass.SMALL, step_count=8), burst,
                       Hooks(check=check, on_saved=lambda index, pos: saved.append(index), analyse=True))
    assert result["cancelled"] and result["focus_index"] is False
    with open_burst(burst) as reader:
        assert reader.frame_count == 3 and FOCUS_INDEX_NAME not in reader.derived_names()



def test_in_the_engine_refocus_is_ready_when_the_sweep_ends_and_a_stack_runs_pass_2_only(tmp_path) -> None:
    settings = Settings().with_overrides({"paths": {"data_dir": str(tmp_path / "data")}, "sim": {
        "liveview_width": 480, "liveview_height": 270, "liveview_fps": 120.0, "focus_step_ms": 0.2}})
    events: list[dict[str, Any]] = []
    added = threading.Event()

    def listen(event: dict[str, Any]) -> None:
        events.append(event)
        if event["type"] == "burst.added":
            added.set()

    with Engine(settings, camera_id="sim:macro", simulated=True) as engine:
        engine.bus.subscribe(listen)
        job, burst_id = engine.start_sweep(None, SweepOptions(range=(40, 160), step=StepClass.SMALL, step_count=8))
        assert job.future.result()["focus_index"] is True
        assert added.wait(60)
        # the Refocus page's first call: no "Preparing refocus" job, and a tap is answered at once
        assert engine.bursts.prepare_refocus(burst_id) is None
        assert engine.bursts.refocus(burst_id, 0.5, 0.5)["frame"] is not None
        stack = engine.bursts.start_stack(burst_id, method=METHODS.default, fmt="jpeg", frames=None)
        assert stack.future.result()["export"]
    kinds = [e["type"] for e in events]
    sweep_done = next(k for k, e in enumerate(events) if e["type"] == "job.done" and e["job"] == job.id)
    # the capture ends, then the sweep's job (its index stored) and the gallery's new burst, then the stack
    captured, added = kinds.index("sweep.captured"), kinds.index("burst.added")
    assert captured < min(sweep_done, added) and max(sweep_done, added) < kinds.index("export.added")
    # no job computed the index: the stack's progress is pass 2's only
    assert "refocus-map" not in {e.get("job_kind") for e in events}
    assert "analysing" not in {e["phase"] for e in events if e["type"] == "job.progress" and e["job"] == stack.id}


def test_burst_import_stores_the_focus_index_it_built_while_importing(run_tether, tmp_path) -> None:
    folder = tmp_path / "stack"
    folder.mkdir()
    for k, data in enumerate(_jpegs(7)):
        (folder / f"IMG_{k + 1}.jpg").write_bytes(data)
    out = tmp_path / "imported.burst"
    done = run_tether("burst", "import", str(folder), "--out", str(out), check=True)
    assert "7 frames imported" in done.stdout
    with open_burst(out) as reader:
        assert reader.derived(FOCUS_INDEX_NAME) == compute_focus_index(BurstFrames(reader)).to_bytes()


def test_capture_runs_opencv_on_one_thread_and_gives_the_threads_back() -> None:
    # OpenCV's pool runs at normal priority whoever calls it: while capturing, the analysis must not
    # reach the camera's core through it; the stacks after the sweep get every core again
    before = cv2.getNumThreads()
    with capture_first():
        assert cv2.getNumThreads() == 1
    assert cv2.getNumThreads() == before
    with pytest.raises(Cancelled), capture_first():
        raise Cancelled("the photographer stopped the sweep")
    assert cv2.getNumThreads() == before
