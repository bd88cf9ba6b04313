"""REST API of the Depth page and the living picture: preview, settings, full-size export, living export.

Thin: the body goes to :meth:`tether.imaging.depth_edit.DepthEdit.from_dict` (the one set of rules, as
the CLI would word them), the work to the engine's :class:`~tether.engine.depth.DepthService`. All of
it needs the burst's refocus map (409 until ``POST /api/bursts/<id>/refocus-map`` has made it).
"""
from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, request

from tether.imaging import FORMATS
from tether.imaging.depth_edit import DepthEdit
from tether.web.api import engine, ok
from tether.web.errors import BadRequest
from tether.web.validation import Field, json_body, json_object

bp = Blueprint("api_depth", __name__)


@bp.get("/bursts/<burst_id>/depth")
def depth_info(burst_id: str) -> Any:
    return ok(engine().depth.info(burst_id))


@bp.post("/bursts/<burst_id>/depth/preview")
def depth_preview(burst_id: str) -> Response:
    """The settings in the body rendered at screen size, as JPEG; ``?show=selection`` tints the depth range."""
    edit = DepthEdit.from_dict(json_object())
    show = request.args.get("show")
    if show not in (None, "selection"):
        raise BadRequest(f"show must be selection, not {show!r}")
    started = time.perf_counter()
    data = engine().depth.preview_jpeg(burst_id, edit, show_selection=show == "selection")
    return Response(data, mimetype="image/jpeg", headers={
        "Cache-Control": "no-store",
        "Server-Timing": f"render;dur={(time.perf_counter() - started) * 1000:.1f}"})


@bp.put("/bursts/<burst_id>/depth/settings")
def depth_settings(burst_id: str) -> Any:
    edit = DepthEdit.from_dict(json_object())
    engine().depth.save(burst_id, edit)
    return ok(edit.to_dict())


@bp.post("/bursts/<burst_id>/depth/export")
def depth_export(burst_id: str) -> Any:
    """Export the burst's stored settings at full size: {"format": one of the image formats}."""
    fmt = json_body({"format": Field(FORMATS.check, default=FORMATS.default)})["format"]
    service = engine().depth
    job = service.start_export(burst_id, service.settings(burst_id), fmt)
    return ok({"job": job.id}, 202)


@bp.get("/bursts/<burst_id>/living")
def living_estimate(burst_id: str) -> Any:
    """How large the living picture will be, before it is made."""
    return ok(engine().depth.living_plan(burst_id))


@bp.post("/bursts/<burst_id>/living")
def living_export(burst_id: str) -> Any:
    json_body({})  # it takes no options: a body that names any is refused, as everywhere
    job = engine().depth.start_living(burst_id)
    return ok({"job": job.id}, 202)
