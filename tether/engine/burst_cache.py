"""Per-burst locks and a small cache of what was worked out for the last few bursts.

The Depth and Retouch pages each keep something expensive per burst (preview frames, the retouched
picture) and do slow work on it (reading every frame, replaying strokes). One lock for the whole
service made every burst wait for the slowest: a second tablet opening another burst's depth page
waited for the first one's frames to be read. Here work on one burst waits only for work on the same
burst, and the cache itself is only locked for the moment it is looked at.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Generic, TypeVar

from tether.burst.recent import Recent

V = TypeVar("V")


class BurstLocks:
    """A lock per burst for the work that reads or changes it, there only while a thread holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        #: burst id -> (its lock, how many threads hold or wait for it): gone when none does
        self._locks: dict[str, tuple[threading.Lock, list[int]]] = {}

    @contextmanager
    def hold(self, burst_id: str) -> Iterator[None]:
        """Work on ``burst_id`` alone: other threads wait here for the same burst, never for another."""
        with self._guard:
            lock, users = self._locks.setdefault(burst_id, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users[0] -= 1
                if not users[0]:
                    del self._locks[burst_id]


class BurstCache(Generic[V]):
    """The values of the ``size`` bursts used last, and a lock per burst for the work that makes or changes them."""

    def __init__(self, size: int) -> None:
        self._values: Recent[str, V] = Recent(size)
        self._locks = BurstLocks()

    def hold(self, burst_id: str) -> AbstractContextManager[None]:
        """Work on ``burst_id`` alone (:meth:`BurstLocks.hold`)."""
        return self._locks.hold(burst_id)

    def get(self, burst_id: str, fresh: Callable[[V], bool] = lambda _value: True) -> V | None:
        """The value kept for ``burst_id`` if ``fresh(value)``, else None."""
        value = self._values.get(burst_id)
        return value if value is not None and fresh(value) else None

    def put(self, burst_id: str, value: V) -> None:
        self._values.put(burst_id, value)

    def drop(self, burst_id: str) -> None:
        self._values.drop(burst_id)
