"""REST API for retouching a burst's stack: the layer, strokes, undo and redo, the earlier stacks, the picture,
the full-size export.

A stroke's points and radius come as fractions of the picture's width and height (as refocus taps do);
the server turns them into pixels, picks the frame for the brush and paints before it answers, so the
page then loads the picture of the revision it was given.
"""
from __future__ import annotations

from typing import Any

import cv2
from flask import Blueprint, Response

from tether.checks import text
from tether.imaging import FORMATS, encode_image
from tether.web.api import engine, ok
from tether.web.validation import Field, json_body, json_object

bp = Blueprint("api_retouch", __name__)
#: The long side of the picture the page shows while painting (the export is full size).
PREVIEW_SIDE = 2048


@bp.get("/bursts/<burst_id>/retouch")
def layer(burst_id: str) -> Any:
    """The layer; null before the burst's first stack."""
    return ok(engine().retouch.kept(burst_id))


@bp.post("/bursts/<burst_id>/retouch/strokes")
def stroke(burst_id: str) -> Any:
    return ok(engine().retouch.add(burst_id, json_object()), 201)


@bp.post("/bursts/<burst_id>/retouch/undo")
def undo(burst_id: str) -> Any:
    return ok(engine().retouch.undo(burst_id))


@bp.post("/bursts/<burst_id>/retouch/redo")
def redo(burst_id: str) -> Any:
    return ok(engine().retouch.redo(burst_id))


@bp.post("/bursts/<burst_id>/retouch/restore")
def restore(burst_id: str) -> Any:
    """Paint on an earlier stack again (stacking again keeps the one painted until then, strokes and all)."""
    body = json_body({"stack": Field(text(40), required=True)})
    return ok(engine().retouch.restore(burst_id, body["stack"]))


@bp.get("/bursts/<burst_id>/retouch.jpg")
def picture(burst_id: str) -> Response:
    """The retouched stack for the page (the revision is in the query, so each one is cached apart)."""
    image = engine().retouch.image(burst_id)
    h, w = image.shape[:2]
    if max(h, w) > PREVIEW_SIDE:
        scale = PREVIEW_SIDE / max(h, w)
        image = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return Response(encode_image(image, ".jpg", quality=92), mimetype="image/jpeg",
                    headers={"Cache-Control": "private, max-age=3600"})


@bp.get("/bursts/<burst_id>/retouch.png")
def picture_lossless(burst_id: str) -> Response:
    """The retouched stack at full size, lossless (what undo must give back bit for bit)."""
    return Response(encode_image(engine().retouch.image(burst_id), ".png"), mimetype="image/png",
                    headers={"Cache-Control": "no-store"})


@bp.post("/bursts/<burst_id>/retouch/export")
def export(burst_id: str) -> Any:
    body = json_body({"format": Field(FORMATS.check, default=FORMATS.default)})
    return ok({"job": engine().retouch.start_export(burst_id, body["format"]).id}, 202)
