"""REST API for cameras and jobs: thin handlers that validate, call the engine and answer.

Long work answers 202 with the job; a busy camera answers 409; a bad body answers 400 (pre-scan and
sweep options are checked by tether.capture's own validator, the same one the CLI uses).
"""
from __future__ import annotations

from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from tether.camera.errors import CameraBusy
from tether.camera.types import FocusDirection, StepClass
from tether.capture import PrescanOptions, SweepOptions
from tether.capture.options import MAX_FRAMES, MAX_POSITION, focus_range
from tether.checks import number, one_of, scalar, text, whole
from tether.engine import Engine
from tether.web.jsonable import data_root, jsonable
from tether.web.validation import Field, json_body, json_object

bp = Blueprint("api", __name__)

#: How long a REST call waits for a quick camera call (settings, focus nudge, still capture).
CALL_TIMEOUT = 30.0


def engine() -> Engine:
    return current_app.extensions["tether.engine"]


def ok(value: Any, status: int = 200) -> tuple[Response, int]:
    return jsonify(jsonable(value, data_root(engine()))), status


def camera_call(camera_id: str, fn: Any, label: str) -> Any:
    """Run ``fn(camera)`` on the owner's thread and wait for it (CameraBusy -> 409 at once)."""
    return wait_call(engine().owner_for(camera_id).call(fn, label=label), label)


def wait_call(future: Any, label: str) -> Any:
    """The result of a quick camera call, waited for at most CALL_TIMEOUT (then CameraBusy)."""
    try:
        return future.result(timeout=CALL_TIMEOUT)
    except FutureTimeout:
        raise CameraBusy(f"the camera did not finish '{label}' within {CALL_TIMEOUT:.0f} s") from None


# state --------------------------------------------------------------------------------------
@bp.get("/state")
def state() -> Any:
    return ok(engine().snapshot())


# cameras ------------------------------------------------------------------------------------
@bp.get("/cameras")
def cameras() -> Any:
    eng = engine()
    return ok({"available": eng.available_cameras(), "open": [o.snapshot() for o in eng.owners()],
               "primary": eng.primary_camera})


@bp.post("/cameras/refresh")
def refresh_cameras() -> Any:
    return ok({"available": engine().available_cameras(refresh=True)})


@bp.post("/cameras/open")
def open_camera() -> Any:
    body = json_body({"id": Field(text(200), required=True)})
    return ok(engine().owner_for(body["id"], create=True).snapshot())


@bp.get("/cameras/<camera_id>/settings")
def settings(camera_id: str) -> Any:
    return ok([s.to_dict() for s in camera_call(camera_id, lambda cam: cam.settings(), "read settings")])


@bp.put("/cameras/<camera_id>/settings/<name>")
def set_setting(camera_id: str, name: str) -> Any:
    body = json_body({"value": Field(scalar, required=True)})
    value = body["value"]
    setting = camera_call(camera_id, lambda cam: cam.set_setting(name, value), f"set {name}")
    engine().bus.publish("camera.setting", camera=camera_id, setting=setting.to_dict())
    return ok(setting.to_dict())


@bp.post("/cameras/<camera_id>/focus")
def drive_focus(camera_id: str) -> Any:
    body = json_body({
        "direction": Field(one_of(*(d.value for d in FocusDirection)), required=True),
        "step": Field(one_of(*(s.value for s in StepClass)), default=StepClass.MEDIUM.value),
        "count": Field(whole(1, 200), default=1),
    })
    direction, step = FocusDirection(body["direction"]), StepClass(body["step"])
    # through the owner, which counts the move into the lens's position (near and far are marked on it)
    wait_call(engine().owner_for(camera_id).nudge(direction, step, body["count"]), "drive focus")
    return ok({"moved": body})


@bp.post("/cameras/<camera_id>/capture")
def capture(camera_id: str) -> Any:
    captured = camera_call(camera_id, lambda cam: cam.capture_still(), "capture a still")
    export = engine().save_capture(captured, camera_id)
    # the name the download will have (the camera's, or made unique when an earlier file has it)
    name = engine().store.export(export).path.name
    return ok({"export": export, "name": name, "width": captured.width, "height": captured.height}, 201)


@bp.post("/cameras/<camera_id>/prescan")
def prescan(camera_id: str) -> Any:
    job = engine().start_prescan(camera_id, PrescanOptions.from_dict(json_object()))
    return ok({"job": job.id}, 202)


@bp.post("/cameras/<camera_id>/sweep")
def sweep(camera_id: str) -> Any:
    job, burst_id = engine().start_sweep(camera_id, SweepOptions.from_dict(json_object()))
    return ok({"job": job.id, "burst": burst_id}, 202)


@bp.post("/plan")
def plan() -> Any:
    """The frame plan for a range (and the pre-scan's depth of field and step sizes), before sweeping."""
    body = json_body({
        "range": Field(focus_range, required=True),
        "frames": Field(whole(2, MAX_FRAMES)),
        "dof": Field(number(0.01, MAX_POSITION)),
        "medium": Field(number(0.01, MAX_POSITION)),
        "large": Field(number(0.01, MAX_POSITION)),
    })
    near, far = body["range"]
    return ok(engine().plan_sweep(near, far, frames=body["frames"], dof=body["dof"],
                                  medium=body["medium"], large=body["large"]))



# jobs ---------------------------------------------------------------------------------------
@bp.get("/jobs")
def jobs() -> Any:
    return ok(engine().snapshot()["jobs"])


@bp.get("/jobs/<job_id>")
def job(job_id: str) -> Any:
    return ok(engine().job(job_id).to_dict())


@bp.post("/jobs/<job_id>/cancel")
def cancel(job_id: str) -> Any:
    return ok({"job": job_id, "cancelled": engine().cancel_job(job_id)}, 202)

