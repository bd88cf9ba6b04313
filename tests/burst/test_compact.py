"""A derived item stored again and again (a retouch layer at every stroke) does not make the burst grow
with the square of the count: its dead space is given back, and nothing else in the burst changes."""
from __future__ import annotations

import errno
import json
import logging
from pathlib import Path

from tether.burst import appender, compact, open_burst, store_derived, store_derived_items, zipcodec
from tether.burst.compact import compacting_path

LAYER = "retouch.json"


def _layer(strokes: int) -> bytes:
    """A layer like the retouch page's: every stroke a hundred points (about 2 kB)."""
    stroke = {"points": [[round(1000.5 + k, 2), round(700.25 + k, 2)] for k in range(100)], "radius": 12}
    return json.dumps({"strokes": [stroke] * strokes}).encode()


def _snapshot(path: Path) -> tuple[list[bytes], dict, list[str]]:
    with open_burst(path) as reader:
        assert not reader.recovered
        assert reader.verify() == []
        frames = [reader.frame_bytes(i) for i in range(reader.frame_count)]
        manifest = {k: v for k, v in reader.manifest.items() if k != "derived"}
        return frames, manifest, reader.derived_names()


def test_a_layer_stored_at_every_stroke_keeps_the_burst_small(make_burst, monkeypatch) -> None:
    monkeypatch.setattr(compact, "SLACK_BYTES", 256 * 1024)
    path, frames = make_burst(6)
    store_derived(path, "depth.png", b"a depth map")
    before = _snapshot(path)
    written = 0
    for strokes in range(1, 201):
        layer = _layer(strokes)
        store_derived(path, LAYER, layer)
        written += len(layer)
    # 200 layers add up to 37 MB; the burst keeps the last one, and at most as much dead space again
    assert written > 35e6
    size = path.stat().st_size
    live = sum(len(f) for f in frames) + len(layer)
    assert size < 2 * live + 256 * 1024 + 64 * 1024, (size, live)
    assert _snapshot(path) == (*before[:2], sorted([*before[2], LAYER]))
    with open_burst(path) as reader:
        assert reader.derived(LAYER) == layer
        assert reader.derived("depth.png") == b"a depth map"
    assert not compacting_path(path).exists()


def test_a_small_burst_with_little_dead_space_is_left_where_it_is(make_burst) -> None:
    path, _ = make_burst(4)
    store_derived(path, LAYER, _layer(1))
    inode = path.stat().st_ino
    for strokes in range(2, 12):
        store_derived(path, LAYER, _layer(strokes))
    assert path.stat().st_ino == inode  # appended to, never copied


# A full disk is simulated (the test cannot fill a real disk): the copy's write fails part-way.
def test_a_compaction_the_disk_cannot_take_leaves_the_burst_whole(make_burst, monkeypatch, caplog) -> None:
    monkeypatch.setattr(compact, "SLACK_BYTES", 64 * 1024)
    path, frames = make_burst(6)
    real_copy = compact._copy

    def copy_until_full(src: int, dst: int, src_offset: int, dst_offset: int, length: int) -> None:
        if dst_offset > 2000:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_copy(src, dst, src_offset, dst_offset, length)

    monkeypatch.setattr(compact, "_copy", copy_until_full)
    with caplog.at_level(logging.WARNING, logger="tether.burst.compact"):
        for strokes in range(1, 40):
            store_derived(path, LAYER, _layer(strokes))
    assert any("could not compact" in r.getMessage() and "No space left" in r.getMessage() for r in caplog.records)
    assert _snapshot(path)[0] == frames
    with open_burst(path) as reader:
        assert reader.derived(LAYER) == _layer(39)  # every store landed; only the space was not given back
    assert not compacting_path(path).exists()
    monkeypatch.setattr(compact, "_copy", real_copy)  # room again: the next store compacts
    store_derived(path, LAYER, _layer(40))
    assert path.stat().st_size < 2 * (sum(len(f) for f in frames) + len(_layer(40))) + 64 * 1024 + 16 * 1024


def test_a_compaction_killed_before_its_rename_leaves_a_copy_that_is_never_read(make_burst, monkeypatch) -> None:
    monkeypatch.setattr(compact, "SLACK_BYTES", 64 * 1024)
    path, frames = make_burst(5)
    left = compacting_path(path)
    left.write_bytes(b"PK\x03\x04 half a copy")  # what kill -9 in the middle of a copy leaves
    store_derived(path, LAYER, _layer(1))
    assert _snapshot(path)[0] == frames  # the burst is read, not the copy beside it
    for strokes in range(2, 40):
        store_derived(path, LAYER, _layer(strokes))
    assert not left.exists()  # the next compaction removed it
    with open_burst(path) as reader:
        assert reader.derived(LAYER) == _layer(39)


def test_an_item_dropped_is_gone_after_a_compaction(make_burst, monkeypatch) -> None:
    monkeypatch.setattr(compact, "SLACK_BYTES", 1)
    path, _ = make_burst(3)
    store_derived(path, "old.png", b"x" * 100_000)
    store_derived_items(path, {LAYER: _layer(3)}, drop=["old.png"])
    with open_burst(path) as reader:
        assert reader.derived_names() == [LAYER]
    assert b"x" * 1000 not in path.read_bytes()


def test_storing_an_item_builds_each_directory_record_once(make_burst, monkeypatch) -> None:
    """Whether to compact is told from where the new directory begins: its records are not built a second time
    to measure it (each store built every entry's record twice: a burst of a thousand frames has 2000)."""
    path, _ = make_burst(20)
    built: list[str] = []

    def noted(entry: zipcodec.Entry) -> bytes:
        built.append(entry.name)
        return zipcodec.central_header(entry)

    for module in (appender, compact):
        monkeypatch.setattr(module, "central_header", noted, raising=False)
    store_derived(path, "depth.png", b"a depth map")
    with open_burst(path) as reader:
        assert sorted(built) == sorted(e.name for e in reader.directory())
