"""REST API for sessions, their stills and the titles and notes of bursts.

Sessions, stills and bursts are named by id only; the engine's store turns ids into paths. A change of
the current session, or of what names the next capture, is pushed to every browser as
``session.changed``, so two panels never name captures from different templates without knowing.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from tether.checks import flag, text
from tether.engine.ids import UnknownId
from tether.engine.naming import DEFAULT_TEMPLATE, TOKENS
from tether.engine.sessions import Session
from tether.engine.stills import camera_model, preview_jpeg, still_info
from tether.web.api import engine, ok
from tether.web.validation import Field, json_body

bp = Blueprint("api_sessions", __name__)

#: The most stills one answer lists: each is opened for its EXIF, and the panel shows the newest few.
MAX_STILLS = 100

#: What a person may write in a session's or a burst's fields (a barcode is short; notes are not).
EDITABLE = {
    "client": Field(text(200)),
    "notes": Field(text(4000, lines=True)),
    "template": Field(text(200)),
    "subject": Field(text(200)),
}


def _changed(session: Session) -> None:
    """Tell every browser when the session captures land in (or its naming) changed."""
    if session.id == engine().store.sessions.current().id:
        engine().bus.publish("session.changed", session=session.to_dict())


@bp.get("/sessions")
def sessions() -> Any:
    catalogue = engine().store.sessions
    return ok({"current": catalogue.current().id, "sessions": [s.to_dict() for s in catalogue.list()],
               "tokens": TOKENS, "default_template": DEFAULT_TEMPLATE})


@bp.post("/sessions")
def create() -> Any:
    body = json_body({"name": Field(text(100), required=True), "use": Field(flag, default=True),
                      **{k: v for k, v in EDITABLE.items() if k != "subject"}})
    catalogue = engine().store.sessions
    session = catalogue.create(body["name"], client=body["client"] or "", notes=body["notes"] or "",
                               template=body["template"] or DEFAULT_TEMPLATE)
    if body["use"]:
        _changed(catalogue.use(session.id))
    return ok(session.to_dict(), 201)


@bp.get("/sessions/<session_id>")
def session(session_id: str) -> Any:
    return ok(engine().store.sessions.get(session_id).to_dict())


@bp.patch("/sessions/<session_id>")
def update(session_id: str) -> Any:
    body = json_body(EDITABLE)
    session = engine().store.sessions.update(session_id, **{k: v for k, v in body.items() if v is not None})
    _changed(session)
    return ok(session.to_dict())


@bp.post("/sessions/<session_id>/use")
def use(session_id: str) -> Any:
    json_body({})  # no options
    session = engine().store.sessions.use(session_id)
    _changed(session)
    return ok(session.to_dict())


@bp.get("/sessions/<session_id>/next-name")
def next_name(session_id: str) -> Any:
    """What the session's next still or sweep will be called (``camera``: the one capturing, for {camera});
    null in the default session. The Camera page shows it beside the session."""
    try:
        owner = engine().owner_for(request.args.get("camera") or None)
    except UnknownId:  # not open (yet): its model is not known
        owner = None
    return ok({"name": engine().store.next_name(session_id, camera_model(owner) if owner else "")})


@bp.get("/sessions/<session_id>/stills")
def stills(session_id: str) -> Any:
    """The newest MAX_STILLS stills of a session."""
    store = engine().store
    store.sessions.get(session_id)  # a session that does not exist is a 404, not an empty list
    return ok([still_info(found.id, found.path) for found in store.stills(session_id)[:MAX_STILLS]])


@bp.get("/stills/<still_id>/preview.jpg")
def preview(still_id: str) -> Response:
    found = engine().store.export(still_id)
    return Response(preview_jpeg(found.path), mimetype="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@bp.patch("/bursts/<burst_id>")
def annotate(burst_id: str) -> Any:
    body = json_body({"title": Field(text(200)), "notes": Field(text(4000, lines=True))})
    return ok(engine().bursts.annotate(burst_id, title=body["title"], notes=body["notes"]))
