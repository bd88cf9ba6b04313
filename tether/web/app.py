"""The Flask app factory: the engine comes in, blueprints and Socket.IO go on, security wraps it all."""
from __future__ import annotations

import threading
from pathlib import Path

from flask import Flask, Response
from flask_socketio import SocketIO

from tether.config import Settings
from tether.engine import Engine
from tether.web import api, api_bursts, api_depth, api_range, api_sessions, api_tiles, errors, live_api, pages
from tether.web.jsonable import data_root
from tether.web.realtime import Forwarder, register_handlers, socketio_loggers
from tether.web.security import AccessPolicy, SecurityMiddleware

#: The one module-level object, as Flask-SocketIO intends: bound to an app in create_app().
socketio = SocketIO()
register_handlers(socketio)


def asset_dir(name: str) -> Path:
    """templates/ or static/: inside the installed package (a wheel), else at the top of the source checkout."""
    package = Path(__file__).resolve().parents[1]
    if (package / name).is_dir():
        return package / name
    return package.parent / name


def create_app(engine: Engine, settings: Settings, *, token: str | None = None) -> Flask:
    """A Flask app serving ``engine``; ``token`` overrides settings.server.token (the server passes
    the generated one)."""
    app = Flask(__name__, template_folder=str(asset_dir("templates")), static_folder=str(asset_dir("static")))
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024  # JSON bodies only; nothing big is ever uploaded
    app.json.sort_keys = False  # type: ignore[attr-defined]
    policy = AccessPolicy.for_bind(settings.server.host, settings.server.port,
                                   settings.server.token if token is None else token)
    app.extensions["tether.engine"] = engine
    app.extensions["tether.policy"] = policy
    app.extensions["tether.stop"] = threading.Event()
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp, url_prefix="/api")
    app.register_blueprint(api_bursts.bp, url_prefix="/api")
    app.register_blueprint(live_api.bp, url_prefix="/api")
    app.register_blueprint(api_tiles.bp, url_prefix="/api")
    app.register_blueprint(api_depth.bp, url_prefix="/api")
    app.register_blueprint(api_sessions.bp, url_prefix="/api")
    app.register_blueprint(api_range.bp, url_prefix="/api")
    errors.install(app)
    # cors_allowed_origins=None: Engine.IO accepts only our own origin; the middleware checks again.
    socketio.init_app(app, async_mode="threading", cors_allowed_origins=None, json=None,
                      max_http_buffer_size=64 * 1024, ping_interval=10, **socketio_loggers())
    forwarder = Forwarder(socketio.server, data_root(engine)).start()
    app.extensions["tether.unsubscribe"] = engine.bus.subscribe(forwarder)
    app.extensions["tether.forwarder"] = forwarder
    app.wsgi_app = SecurityMiddleware(app.wsgi_app, policy)  # type: ignore[method-assign]

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return app


def shutdown_app(app: Flask) -> None:
    """End the live-view streams and stop forwarding events (the engine is closed by whoever made it)."""
    app.extensions["tether.stop"].set()
    app.extensions["tether.unsubscribe"]()
    app.extensions["tether.forwarder"].stop()
