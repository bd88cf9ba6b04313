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
    job.id, job.kind, job.future, job.cancel(), job.progress, job.to_dict()
    owner.stop()

Events on the bus (all JSON-able). The job's kind travels as ``job_kind`` (as for the engine's pool
jobs): ``EventBus.publish(kind, **payload)`` takes the event type as ``kind``, so a payload key
of that name cannot be passed.
    camera.state  {camera, state, message}
    liveview.fps  {camera, fps}
    job.progress  {job, job_kind, camera, done, total, fraction, elapsed, eta, fps, focus_position, phase}
    sweep.frame   {job, camera, index, focus_position, burst}
    job.done      {job, job_kind, result}     (a cancelled job: result {"cancelled": true, ...})
    job.error     {job, job_kind, message}

Positions are small focus steps counted from the near end stop (there is no readback on real
cameras); see docs/step-plan.md.
"""
from tether.capture.frames import FrameHub
from tether.capture.job import Cancelled, Job
from tether.capture.owner import STATES, CameraOwner
from tether.capture.prescan import PrescanOptions, PrescanResult, run_prescan
from tether.capture.step_plan import PlanError, StepPlan, StepScale, plan_steps
from tether.capture.sweep import MODES, SweepOptions, run_sweep

__all__ = [
    "MODES", "STATES", "CameraOwner", "Cancelled", "FrameHub", "Job", "PlanError", "PrescanOptions", "PrescanResult",
    "StepPlan", "StepScale", "SweepOptions", "plan_steps", "run_prescan", "run_sweep",
]
