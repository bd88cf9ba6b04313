"""The bounded table the burst reader keeps of files it read before (a scan's resume point, entries' digests)."""
from __future__ import annotations

import threading

from tether.burst.recent import Recent


def test_it_keeps_the_values_stored_last_and_drops_the_oldest() -> None:
    table: Recent[str, int] = Recent(3)
    for n, key in enumerate("abcd"):
        table.put(key, n)
    assert [table.get(key) for key in "abcd"] == [None, 1, 2, 3]
    table.put("b", 10)  # stored again: the newest now
    table.put("e", 4)
    assert [table.get(key) for key in "bcde"] == [10, None, 3, 4]
    assert table.get("b") == 10  # found: the newest again, so "d" goes first
    table.put("f", 5)
    assert [table.get(key) for key in "bdef"] == [10, None, 4, 5]


def test_threads_storing_at_once_leave_it_within_its_bound() -> None:
    table: Recent[tuple[int, int], int] = Recent(50)

    def store(thread: int) -> None:
        for n in range(2000):
            table.put((thread, n), n)

    workers = [threading.Thread(target=store, args=(t,)) for t in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sum(table.get((t, n)) is not None for t in range(4) for n in range(2000)) == 50
