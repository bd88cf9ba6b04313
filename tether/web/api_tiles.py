"""REST API for tiles: a crop of a burst frame or of an export at a scale (the zoom's full-resolution pixels)."""
from __future__ import annotations

from flask import Blueprint, Response, request

from tether.engine.tiles import Tile, export_tile, frame_tile
from tether.web.api import engine

bp = Blueprint("api_tiles", __name__)


def _jpeg(data: bytes) -> Response:
    # a tile of a burst frame or an export never changes: the zoom may keep it
    return Response(data, mimetype="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@bp.get("/bursts/<burst_id>/frames/<int:index>/tile.jpg")
def frame(burst_id: str, index: int) -> Response:
    return _jpeg(frame_tile(engine().store, burst_id, index, Tile.from_query(request.args)))


@bp.get("/exports/<export_id>/tile.jpg")
def export(export_id: str) -> Response:
    return _jpeg(export_tile(engine().store, export_id, Tile.from_query(request.args)))
