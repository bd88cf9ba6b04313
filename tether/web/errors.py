"""How errors become HTTP answers: a status chosen by the error's kind, and one line of JSON
``{"error": message, "hint": ..., "kind": ...}`` that names files relative to the data folder."""
from __future__ import annotations

import logging

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from tether.camera.errors import CameraDisconnected, Unsupported
from tether.errors import Busy, InvalidInput, NotFound, TetherError
from tether.fileio import StorageError
from tether.web.jsonable import data_root, jsonable
from tether.web.page_shell import render_page

log = logging.getLogger(__name__)


class BadRequest(InvalidInput):
    """A request body or parameter that the API cannot use."""


#: The first base an error is an instance of decides its status.
STATUS: list[tuple[type[TetherError], int]] = [
    (InvalidInput, 400),
    (NotFound, 404),
    (Busy, 409),
    (Unsupported, 422),
    (CameraDisconnected, 503),
    (StorageError, 507),
]
#: Any other TetherError: the request was understood but cannot be done (a damaged burst, too few frames, ...).
UNPROCESSABLE = 422


def status_for(exc: TetherError) -> int:
    return next((status for base, status in STATUS if isinstance(exc, base)), UNPROCESSABLE)


def one_line(text: str) -> str:
    """``text`` with its line breaks (a driver's multi-line message) folded into spaces."""
    return " ".join(text.split())


def install(app: Flask) -> None:
    """Register handlers so every API error is JSON with a message a photographer understands."""

    @app.errorhandler(TetherError)
    def tether_error(exc: TetherError) -> tuple[Response | str, int]:
        status = status_for(exc)
        if status >= 500 or status == UNPROCESSABLE:
            log.warning("request failed: %s", exc)
        body = jsonable({"error": one_line(exc.message), "hint": one_line(exc.hint), "kind": type(exc).__name__},
                        data_root(current_app.extensions["tether.engine"]))
        if _wants_page():
            return _error_page(status, body["error"], body["hint"]), status
        return jsonify(body), status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response | str, int]:
        status = exc.code or 500
        if _wants_page():
            # (a page's own abort says what is missing: "no burst 'x'"; a mistyped address has only the default)
            said = exc.description if exc.description and exc.description != type(exc).description else (
                "There is no page at this address.")
            return _error_page(status, said, ""), status
        return jsonify(error=exc.description or exc.name), status


def _wants_page() -> bool:
    """A browser's page request (not the API's, not a script's): it gets a page that says what is wrong."""
    return not request.path.startswith("/api/") and request.method == "GET" and request.accept_mimetypes.accept_html


def _error_page(status: int, message: str, hint: str) -> str:
    return render_page("error", title="Not found" if status == 404 else "Cannot show this page", message=message,
                       hint=hint)
