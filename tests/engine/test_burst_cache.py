"""Per-burst locks and the last few bursts' values (tether.engine.burst_cache): the Depth and Retouch
pages of one burst never wait for slow work on another."""
from __future__ import annotations

import threading

from tether.engine.burst_cache import BurstCache, BurstLocks


def test_work_on_one_burst_does_not_wait_for_another() -> None:
    locks = BurstLocks()
    reading, release = threading.Event(), threading.Event()
    order: list[str] = []

    def slow(burst: str, name: str) -> None:
        with locks.hold(burst):
            order.append(name)
            reading.set()
            release.wait(30)

    def quick(burst: str, name: str) -> None:
        with locks.hold(burst):
            order.append(name)

    first = threading.Thread(target=slow, args=("a", "a: reading its frames"))
    first.start()
    assert reading.wait(30)
    same = threading.Thread(target=quick, args=("a", "a: second request"))
    same.start()
    other = threading.Thread(target=quick, args=("b", "b: another tablet"))
    other.start()
    other.join(30)
    assert order == ["a: reading its frames", "b: another tablet"]  # b went ahead, a's second request waits
    release.set()
    first.join(30)
    same.join(30)
    assert order[-1] == "a: second request"
    assert not locks._locks  # no lock is kept for a burst nobody works on


def test_the_last_bursts_used_are_kept() -> None:
    cache: BurstCache[str] = BurstCache(2)
    cache.put("a", "preview a")
    cache.put("b", "preview b")
    assert cache.get("a") == "preview a"  # a is now the most recent
    cache.put("c", "preview c")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("preview a", None, "preview c")
    assert cache.get("a", lambda kept: kept.endswith("b")) is None  # stale: to be made again
    cache.drop("a")
    assert cache.get("a") is None
