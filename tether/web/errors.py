"""How errors become HTTP answers: a status and ``{"error": message, "hint": ...}``."""
from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify
from werkzeug.exceptions import HTTPException

from tether.camera.errors import CameraBusy, CameraDisconnected, CameraNotFound, InvalidValue, Unsupported
from tether.capture import PlanError
from tether.engine.ids import UnknownId
from tether.errors import TetherError
from tether.fileio import StorageError
from tether.web.jsonable import jsonable

log = logging.getLogger(__name__)


class BadRequest(TetherError):
    """A request body or parameter that the API cannot use."""


#: Most specific first: the first matching class decides the status.
STATUS: list[tuple[type[TetherError], int]] = [
    (BadRequest, 400),
    (InvalidValue, 400),
    (PlanError, 400),
    (UnknownId, 404),
    (CameraNotFound, 404),
    (CameraBusy, 409),
    (Unsupported, 422),
    (CameraDisconnected, 503),
    (StorageError, 507),
]


def status_for(exc: TetherError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 422  # any other TetherError: the request was understood but cannot be done (bad burst, ...)


def install(app: Flask) -> None:
    """Register handlers so every API error is JSON with a message a photographer understands."""

    @app.errorhandler(TetherError)
    def tether_error(exc: TetherError):  # type: ignore[no-untyped-def]
        status = status_for(exc)
        if status >= 500 or status == 422:
            log.warning("request failed: %s", exc)
        # messages often name a file: show it relative to the data folder, never the server's path
        root = str(current_app.extensions["tether.engine"].store.root) + "/"
        body = jsonable({"error": exc.message, "hint": exc.hint, "kind": type(exc).__name__}, root)
        return jsonify(body), status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        return jsonify(error=exc.description or exc.name), exc.code or 500
