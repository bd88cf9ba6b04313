"""The HTTP server: Werkzeug's, with reused connection threads, and capture before the API.

Two things made 20 API clients calling even the cheapest endpoints slow a 30 fps sweep to under
9 fps on a server with one core to itself:

* Werkzeug closes every connection after one request, and its threaded server starts a thread
  for each; the server's main thread spent most of its time creating and starting threads (a
  ``Thread.start`` waits for the new thread to run). Here a connection goes to an idle thread if
  there is one; there are as many threads as the most connections ever open at once.
* Python runs one thread at a time (the GIL). The camera's owner thread lets go of it at every
  frame (for the camera, the disk, numpy) and then waited behind the request threads to get it
  back. Thread priorities cannot help, the GIL has none; so while a camera pre-scans or sweeps,
  connections take turns (:class:`Turns`), one at a time, and after one that took t seconds the
  next waits ``t * (1 - share) / share``: requests get at most ``share`` of the time, the capture
  the rest. A turn begins when the request's first bytes arrive, and a waiting connection sleeps
  on an event, which costs the capture nothing. Streams (the MJPEG live view, Socket.IO) give
  their turn back as soon as they are recognised: they stay open for minutes, and a viewer's
  thread sleeps between frames.
"""
from __future__ import annotations

import collections
import queue
import selectors
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer

from tether.web.security import Environ, StartResponse

WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

#: The share of the time requests may take while a camera captures (the rest is the capture's).
API_SHARE = 0.2

_connection = threading.local()  # the turn of the connection this thread serves


class Turns:
    """One connection at a time while ``capturing()``, in order of arrival, each followed by a pause in
    proportion to its length."""

    def __init__(self, capturing: Callable[[], bool], *, share: float = API_SHARE) -> None:
        self.capturing = capturing
        self._pause = (1.0 - share) / share
        self._guard = threading.Lock()
        self._busy = False
        self._waiting: collections.deque[threading.Event] = collections.deque()
        self._next = 0.0  # time.monotonic() before which no connection gets its turn

    def take(self) -> Callable[[], None] | None:
        """Wait for this connection's turn while a camera captures; returns what ends it (None: no turn needed)."""
        if not self.capturing():
            return None
        with self._guard:
            called = None if not self._busy else threading.Event()
            if called is None:
                self._busy = True
            else:
                self._waiting.append(called)
        if called is not None:
            called.wait()  # first come, first served: a lock would let some connections wait forever
        wait = self._next - time.monotonic()
        if wait > 0 and self.capturing():
            time.sleep(wait)
        started = time.monotonic()
        ended = False

        def end() -> None:
            nonlocal ended
            if ended:
                return
            ended = True
            finished = time.monotonic()
            self._next = finished + (finished - started) * self._pause
            with self._guard:
                if self._waiting:
                    self._waiting.popleft().set()  # the turn passes straight to the next in line
                else:
                    self._busy = False

        return end


def is_stream(environ: Environ) -> bool:
    """A connection that stays open: the live view's MJPEG stream, or Socket.IO (polling or WebSocket)."""
    path = environ.get("PATH_INFO", "")
    return path.endswith(".mjpg") or path.startswith("/socket.io/")


class StreamsEndTheirTurn:
    """WSGI middleware: a stream gives its connection's turn back before it starts (see the module's doc)."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        end = getattr(_connection, "end_turn", None)
        if end is not None and is_stream(environ):
            end()
        return self.app(environ, start_response)


class PooledWSGIServer(BaseWSGIServer):
    """A BaseWSGIServer whose connections are served by reused threads, taking turns while a camera captures."""

    multithread = True  # HTTP/1.1 (chunked live-view streams) and ``wsgi.multithread``, as Werkzeug's threaded server

    def __init__(self, host: str, port: int, app: WsgiApp, *, capturing: Callable[[], bool]) -> None:
        super().__init__(host, port, StreamsEndTheirTurn(app))
        self.turns = Turns(capturing)
        self._connections: queue.SimpleQueue[tuple[Any, Any]] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._connections.put((request, client_address))
        if not self._idle.acquire(blocking=False):
            # daemon threads, as Werkzeug's: an open stream must not keep the process from exiting
            threading.Thread(target=self._work, name="tether-http", daemon=True).start()

    def _work(self) -> None:
        while True:
            self._serve(*self._connections.get())
            self._idle.release()

    def _serve(self, request: Any, client_address: Any) -> None:
        # the turn starts when the request does: a browser opens connections ahead of need (preconnect)
        # that may stay silent for minutes, and one of those must not hold it
        with selectors.DefaultSelector() as waiting:  # select.select fails on descriptors past 1023
            waiting.register(request, selectors.EVENT_READ)
            waiting.select()
        end = _connection.end_turn = self.turns.take()
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            _connection.end_turn = None
            if end is not None:
                end()
