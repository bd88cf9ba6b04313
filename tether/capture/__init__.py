"""Post Focus capture: the camera owner, the automatic pre-scan and the focus sweep into a burst.

Public API (what the engine and the web layer call)::

    owner = CameraOwner(camera_id, open_camera, bus).start()   # open_camera: () -> Camera (unopened)
    owner.state          # disconnected | idle | liveview | prescan | sweep | capturing | error
    owner.info           # CameraInfo | None
    owner.snapshot()     # JSON-able dict for a client that just connected
    owner.call(fn, label="read settings")          # Future; CameraBusy at once during a pre-scan/sweep
    owner.frames.latest() / owner.frames.wait_next(after_seq, timeout)   # (seq, Frame) | None
    job = owner.start_prescan({"range": [a, b]} | {"from_here": True} | {} | PrescanOptions(...))
    job = owner.start_sweep({"mode": "liveview", "frames": 60, ...} | SweepOptions(...), burst_path)
    MODES                # the sweep modes (tether.capture.modes): value, label, capability, run
    SweepOptions.from_dict(body) / PrescanOptions.from_dict(body)   # the one check of options: PlanError
    job                  # a tether.jobs.Job (subject: the camera id), run on the owner thread
    owner.stop()

Events on the bus (all JSON-able); jobs publish ``job.progress``/``job.done``/``job.cancelled``/
``job.error`` in tether.jobs' one shape, with ``phase`` (prescan, homing, sweep, ...) and
``focus_position`` in a pre-scan's or sweep's progress.
    camera.state  {camera, state, message}
    liveview.fps  {camera, fps}
    sweep.frame   {job, job_kind, camera, index, focus_position, burst}

Positions are small focus steps counted from the near end stop (there is no readback on real
cameras); see docs/step-plan.md.
"""
from tether.capture.frames import FrameHub
from tether.capture.modes import MODES, SweepMode
from tether.capture.options import PrescanOptions, SweepOptions
from tether.capture.owner import STATES, CameraOwner
from tether.capture.prescan import PrescanResult, run_prescan
from tether.capture.step_plan import PlanError, StepPlan, StepScale, plan_steps
from tether.capture.sweep import run_sweep

__all__ = [
    "MODES", "STATES", "CameraOwner", "FrameHub", "PlanError", "PrescanOptions", "PrescanResult",
    "StepPlan", "StepScale", "SweepMode", "SweepOptions", "plan_steps", "run_prescan", "run_sweep",
]
