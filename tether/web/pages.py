"""The HTML pages: thin shells; the ES modules in static/js draw them from the snapshot and events."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, send_from_directory

from tether.capture import MODES
from tether.engine.ids import UnknownId, check_id
from tether.imaging import FORMATS, METHODS
from tether.imaging.retouch import BRUSHES
from tether.web import vendor
from tether.web.api_bursts import MAX_SLABS

bp = Blueprint("pages", __name__)

NAV = [("camera", "/", "Camera"), ("postfocus", "/postfocus", "Post Focus"), ("bursts", "/bursts", "Bursts")]


def _page(name: str, **context: object) -> str:
    engine = current_app.extensions["tether.engine"]
    return render_template(f"{name}.html", page=name, nav=NAV, simulated=engine.simulated, fallback=engine.fallback,
                           primary_camera=engine.primary_camera, **context)


@bp.get("/")
def camera() -> str:
    return _page("camera")


@bp.get("/postfocus")
def postfocus() -> str:
    return _page("postfocus", modes=MODES)


@bp.get("/bursts")
def bursts() -> str:
    return _page("bursts")


@bp.get("/refocus/<burst_id>")
def refocus(burst_id: str) -> str:
    return _page("refocus", burst_id=_burst(burst_id))


@bp.get("/stack/<burst_id>")
def stack(burst_id: str) -> str:
    return _page("stack", burst_id=_burst(burst_id), methods=METHODS, formats=FORMATS, brushes=BRUSHES,
                 max_slabs=MAX_SLABS)


@bp.get("/depth/<burst_id>")
def depth(burst_id: str) -> str:
    return _page("depth", burst_id=_burst(burst_id))


@bp.get("/vendor/<name>")
def vendor_file(name: str) -> Response:
    """Front-end libraries installed by npm at set-up (never copied into git)."""
    found = vendor.locate(name)
    if found is None:
        abort(404, description=f"{name} is missing: run `make setup` (npm ci) to install the front-end libraries")
    return send_from_directory(found.parent, found.name, max_age=3600)


def _burst(burst_id: str) -> str:
    try:
        current_app.extensions["tether.engine"].store.burst_path(check_id(burst_id, "burst"))
    except UnknownId as exc:
        abort(404, description=exc.message)
    return burst_id
