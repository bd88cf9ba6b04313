"""Socket.IO: a state snapshot on connect, then the engine's events, throttled.

Progress-like events (``job.progress``, ``liveview.fps``, ``camera.state``) are coalesced per
job or camera and sent at most ``RATE`` times a second; all other events go out in order.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import threading
import time
from typing import Any

from flask import current_app, request
from flask_socketio import SocketIO, emit

from tether.events import Event
from tether.web.jsonable import data_root, jsonable
from tether.web.security import AccessPolicy

log = logging.getLogger(__name__)

RATE = 10.0
COALESCE = {"job.progress": "job", "liveview.fps": "camera", "camera.state": "camera"}


class UnreadablePayload(logging.Filter):
    """Engine.IO logs a traceback when a client's long-polling POST cannot be read (more than 16
    messages batched in one request, from a client emitting faster than it polls, or a malformed
    payload); it drops the request and goes on. That is the client's fault, not ours: one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "post request handler error" and record.exc_info and record.exc_info[1] is not None:
            record.msg, record.args = "a Socket.IO client's request was dropped: %s", (record.exc_info[1],)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True


def socketio_loggers() -> dict[str, logging.Logger]:
    """Socket.IO's and Engine.IO's loggers, handed to them as loggers: given none, each adds a console
    handler of its own beside the root logger's (``tether`` sets that one up), and printed every line
    twice. Errors only, as their own default (their INFO lines are about every connection)."""
    loggers = {"logger": logging.getLogger("socketio.server"), "engineio_logger": logging.getLogger("engineio.server")}
    for logger in loggers.values():
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.ERROR)
    return loggers


def register_handlers(socketio: SocketIO) -> None:
    """Attach the connect handler (token + origin checked again: the test client skips WSGI)."""
    logging.getLogger("engineio.server").addFilter(UnreadablePayload())

    @socketio.on("connect")
    def on_connect(auth: Any = None) -> None:
        policy: AccessPolicy = current_app.extensions["tether.policy"]
        environ = dict(request.environ)
        if isinstance(auth, dict) and isinstance(auth.get("token"), str):
            environ["HTTP_AUTHORIZATION"] = f"Bearer {auth['token']}"
        refusal = policy.check(environ)
        if refusal is not None:
            raise ConnectionRefusedError(refusal[1])
        engine = current_app.extensions["tether.engine"]
        emit("snapshot", jsonable(engine.snapshot(), data_root(engine)))

    @socketio.on("snapshot")
    def on_snapshot(*_ignored: Any) -> Any:  # a client's arguments are not an error (nor a traceback)
        engine = current_app.extensions["tether.engine"]
        return jsonable(engine.snapshot(), data_root(engine))


class Forwarder:
    """Moves bus events onto Socket.IO from one thread, so publishers never wait on the network."""

    def __init__(self, server: Any, root: str = "") -> None:
        # the python-socketio server of this app (not the module-level SocketIO, which the
        # next create_app() rebinds): events of one engine go to that app's clients only
        self._server = server
        self._root = root
        self._queue: queue.Queue[Event | None] = queue.Queue(maxsize=10_000)
        self._thread = threading.Thread(target=self._run, name="tether-socketio-forward", daemon=True)
        self._stopped = False
        self._sequence = itertools.count()

    def start(self) -> Forwarder:
        self._thread.start()
        return self

    def __call__(self, event: Event) -> None:
        with contextlib.suppress(queue.Full):  # nobody is draining: drop rather than block a sweep
            self._queue.put_nowait(event)

    def stop(self) -> None:
        self._stopped = True
        self._queue.put(None)
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stopped:
            first = self._queue.get()
            if first is None:
                return
            batch_start = time.monotonic()
            pending: dict[Any, Event] = {}
            self._add(pending, first)
            # progress waits for its batch; anything else goes out at once
            deadline = batch_start + (1.0 / RATE if first.get("type") in COALESCE else 0.0)
            while True:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
                try:
                    event = self._queue.get(timeout=timeout)
                except queue.Empty:
                    break
                if event is None:
                    self._stopped = True
                    break
                self._add(pending, event)
                if event["type"] not in COALESCE:
                    break  # something the user waits for: send it now
            for event in pending.values():
                try:
                    self._server.emit("event", jsonable(event, self._root), namespace="/")
                except Exception:  # a vanished client must not stop the forwarder
                    log.exception("emitting %s failed", event.get("type"))

    def _add(self, pending: dict[Any, Event], event: Event) -> None:
        field = COALESCE.get(event.get("type", ""))
        if field is None:
            key: Any = next(self._sequence)
        else:
            key = (event["type"], str(event.get(field)))
            pending.pop(key, None)  # the newer value replaces it, at the newer position
        pending[key] = event
