"""A small thread-safe publish/subscribe bus: capture publishes, the web layer and the CLI listen.

Events are plain JSON-able dicts ``{"type": ..., "time": ..., **payload}`` so they can go
straight to Socket.IO. Subscribers are called on the publishing thread and must be quick.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Event = dict[str, Any]
Listener = Callable[[Event], None]


class EventBus:
    """Fan events out to every subscriber; a failing subscriber is logged and never breaks the publisher."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add ``listener``; returns a function that removes it."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def publish(self, kind: str, **payload: Any) -> Event:
        event: Event = {"type": kind, "time": time.time(), **payload}
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not stop a sweep
                log.exception("event listener failed on %s", kind)
        return event
