"""REST API for bursts and exports: gallery, frames, delete, download, export, refocus, stack.

Bursts and exports are named by id only; the engine's store turns ids into paths.
"""
from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, request, send_file

from tether.checks import number, one_of, ordered_pair, whole
from tether.errors import InvalidInput
from tether.imaging import FORMATS, METHODS
from tether.web.api import engine, ok
from tether.web.errors import BadRequest
from tether.web.validation import Field, json_body

bp = Blueprint("api_bursts", __name__)

#: Frame indexes a request may name; a burst has far fewer, and the burst says which exist.
MAX_FRAME_INDEX = 1_000_000
#: Slabs a stack may be cut into (a 300-frame stack in slabs of 3 frames is 100; the burst says if it fits).
MAX_SLABS = 500


def slab_count(name: str, value: Any) -> int:
    """0 stacks all frames at once; one slab would be the same stack, so a count starts at 2 (the panel's
    Slabs field takes the same, and shows this refusal)."""
    if type(value) is int and value == 0:
        return 0
    try:
        return int(whole(2, MAX_SLABS)(name, value))
    except InvalidInput:
        raise InvalidInput(f"{name} must be 0 (all frames at once) or a whole number from 2 to {MAX_SLABS}, "
                           f"not {value!r}") from None



@bp.get("/bursts")
def bursts() -> Any:
    """Every burst, or those of ?session=ID whose name, title or notes contain the words of ?q=."""
    return ok(engine().bursts.list(session=request.args.get("session") or None, query=request.args.get("q", "")))


@bp.get("/bursts/<burst_id>")
def burst(burst_id: str) -> Any:
    return ok(engine().bursts.detail(burst_id))


@bp.delete("/bursts/<burst_id>")
def delete(burst_id: str) -> Any:
    engine().bursts.delete(burst_id)
    return ok({"deleted": burst_id})


@bp.get("/bursts/<burst_id>/download")
def download(burst_id: str) -> Response:
    path = engine().store.burst_path(burst_id)
    return send_file(path, as_attachment=True, download_name=path.name, mimetype="application/zip")


@bp.get("/bursts/<burst_id>/frames/<int:index>.jpg")
def frame(burst_id: str, index: int) -> Response:
    reduce = _query_int("reduce", 1, {1, 2, 4, 8})
    data = engine().bursts.frame_jpeg(burst_id, index, reduce=reduce)
    return Response(data, mimetype="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@bp.get("/bursts/<burst_id>/thumbnail.jpg")
def thumbnail(burst_id: str) -> Response:
    data = engine().bursts.thumbnail(burst_id)
    return Response(data, mimetype="image/jpeg", headers={"Cache-Control": "private, max-age=600"})


@bp.get("/bursts/<burst_id>/stack-preview.jpg")
def stack_preview(burst_id: str) -> Response:
    data = engine().bursts.stack_preview(burst_id)
    return Response(data, mimetype="image/jpeg", headers={"Cache-Control": "no-store"})


@bp.post("/bursts/<burst_id>/export")
def export(burst_id: str) -> Any:
    body = json_body({
        "format": Field(one_of("zip", "mp4", "frame"), required=True),
        "frame": Field(whole(0, MAX_FRAME_INDEX)),
    })
    if body["format"] == "frame" and body["frame"] is None:
        raise BadRequest("exporting a single frame needs its index in 'frame'")
    job = engine().bursts.start_export(burst_id, body["format"], frame=body["frame"])
    return ok({"job": job.id}, 202)


@bp.post("/bursts/<burst_id>/refocus-map")
def refocus_map(burst_id: str) -> Any:
    """Make sure the focus index map exists: 200 if cached, else 202 with the job computing it."""
    json_body({})  # no options
    job = engine().bursts.prepare_refocus(burst_id)
    if job is None:
        return ok({"ready": True})
    return ok({"ready": False, "job": job.id}, 202)


@bp.get("/bursts/<burst_id>/refocus")
def refocus(burst_id: str) -> Any:
    x = _query_float("x")
    y = _query_float("y")
    started = time.perf_counter()
    answer = engine().bursts.refocus(burst_id, x, y)
    response, status = ok(answer)
    # the server's own time for the tap, for the browser's devtools and benchmarks/web.py
    response.headers["Server-Timing"] = f"refocus;dur={(time.perf_counter() - started) * 1000:.3f}"
    return response, status


@bp.get("/bursts/<burst_id>/depthmap.png")
def depth_map(burst_id: str) -> Response:
    return Response(engine().bursts.depth_map_png(burst_id), mimetype="image/png",
                    headers={"Cache-Control": "no-store"})


@bp.post("/bursts/<burst_id>/stack")
def stack(burst_id: str) -> Any:
    body = json_body({
        "method": Field(METHODS.check, default=METHODS.default),
        "format": Field(FORMATS.check, default=FORMATS.default),
        "range": Field(ordered_pair(0, MAX_FRAME_INDEX)),
        "slabs": Field(slab_count),
    })
    job = engine().bursts.start_stack(burst_id, method=body["method"], fmt=body["format"], frames=body["range"],
                                      slabs=body["slabs"] or None)
    return ok({"job": job.id}, 202)


@bp.post("/bursts/<burst_id>/save-frame")
def save_frame(burst_id: str) -> Any:
    body = json_body({"frame": Field(whole(0, MAX_FRAME_INDEX), required=True)})
    job = engine().bursts.start_export(burst_id, "frame", frame=body["frame"])
    return ok({"job": job.id}, 202)


# exports ------------------------------------------------------------------------------------
@bp.get("/exports")
def exports() -> Any:
    return ok([e.to_dict() for e in engine().store.exports()])


@bp.delete("/exports/<export_id>")
def delete_export(export_id: str) -> Any:
    engine().bursts.delete_export(export_id)
    return ok({"deleted": export_id})


@bp.get("/exports/<export_id>")
def export_file(export_id: str) -> Response:
    found = engine().store.export(export_id)
    inline = request.args.get("inline") == "1"
    return send_file(found.path, as_attachment=not inline, download_name=found.path.name)


def _query_int(name: str, default: int, allowed: set[int]) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, not {raw!r}") from None
    if value not in allowed:
        raise BadRequest(f"{name} must be one of {sorted(allowed)}, not {value}")
    return value


def _query_float(name: str) -> float:
    raw = request.args.get(name)
    if raw is None:
        raise BadRequest(f"query parameter {name!r} is required")
    try:
        return number(0.0, 1.0)(name, float(raw))
    except ValueError:  # not a number at all: the rule refuses the text in its own words
        return number(0.0, 1.0)(name, raw)
