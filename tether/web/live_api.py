"""Live-view endpoints: the MJPEG stream and the latest frame as one JPEG."""
from __future__ import annotations

from flask import Blueprint, Response, current_app

from tether.camera.errors import Unsupported
from tether.capture import CameraOwner
from tether.web.live import MIMETYPE, mjpeg_parts

bp = Blueprint("live", __name__)


def _owner(camera_id: str) -> CameraOwner:
    owner: CameraOwner = current_app.extensions["tether.engine"].owner_for(camera_id)
    return owner


@bp.get("/cameras/<camera_id>/live.mjpg")
def stream(camera_id: str) -> Response:
    frames = _owner(camera_id).frames
    # the app's stop event is set at shutdown, so every stream generator ends
    stop = current_app.extensions["tether.stop"]
    response = Response(mjpeg_parts(frames, stop), mimetype=MIMETYPE, direct_passthrough=True)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"
    return response


@bp.get("/cameras/<camera_id>/live.jpg")
def latest(camera_id: str) -> Response:
    got = _owner(camera_id).frames.latest()
    if got is None:
        raise Unsupported("no live-view frame yet", hint="the camera is connecting or has no live view")
    _, frame = got
    return Response(frame.data, mimetype=frame.mime, headers={"Cache-Control": "no-store"})
