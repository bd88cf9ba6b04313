"""REST API for choosing the range and fixing its coverage: near and far marked from live view (with the
frame seen at each), and the one-click fixes that sweep a little more and merge it into a burst."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from tether.camera.types import FocusDirection
from tether.capture.options import MAX_POSITION
from tether.checks import one_of, whole
from tether.web.api import engine, ok, wait_call
from tether.web.api_bursts import MAX_FRAME_INDEX
from tether.web.validation import Field, json_body

bp = Blueprint("api_range", __name__)

ENDS = one_of(*(d.value for d in FocusDirection))


@bp.post("/cameras/<camera_id>/marks")
def mark(camera_id: str) -> Any:
    """Mark where the focus is now as the sweep's near or far end (positions in small steps, and the fraction
    of the lens's travel when a pre-scan found its far stop)."""
    end = FocusDirection(json_body({"end": Field(ENDS, required=True)})["end"])
    return ok(wait_call(engine().owner_for(camera_id).mark(end), f"mark the {end.value} end"))


@bp.get("/cameras/<camera_id>/marks/<end>.jpg")
def mark_preview(camera_id: str, end: str) -> Response:
    data = engine().owner_for(camera_id).range_marks.preview(FocusDirection(ENDS("end", end)))
    return Response(data, mimetype="image/jpeg", headers={"Cache-Control": "no-store"})


@bp.post("/bursts/<burst_id>/extend")
def extend(burst_id: str) -> Any:
    body = json_body({"toward": Field(ENDS, required=True), "steps": Field(whole(1, MAX_POSITION), required=True)})
    return ok(engine().reshoots.extend(burst_id, body["toward"], body["steps"]), 202)


@bp.post("/bursts/<burst_id>/reshoot")
def reshoot(burst_id: str) -> Any:
    """Re-shoot the gap between frame ``after`` (0-based, focus order) and the next one."""
    body = json_body({"after": Field(whole(0, MAX_FRAME_INDEX), required=True)})
    return ok(engine().reshoots.fill_gap(burst_id, body["after"]), 202)
