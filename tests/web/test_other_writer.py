"""A burst another program is writing (``tether sweep`` beside ``tether serve`` on the same data dir): the
server must not delete, stack or index it, and a focus index must not outlive a change of the file."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.conftest import write_focus_burst
from tests.web.test_imaging_api import wait_job
from tether.burst import open_burst

#: A second process writing a burst as a sweep does: the first frames, then (after a line on stdin) the rest.
WRITER = """
import sys
from tether.burst import BurstWriter, open_burst
source, target, first = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open_burst(source) as reader:
    frames = [(reader.frame_bytes(i), reader.meta(i)) for i in range(reader.frame_count)]
with BurstWriter.create(target, camera={"model": "Test rig"}, sweep={"mode": "liveview"}) as writer:
    for data, meta in frames[:first]:
        writer.append(data, meta)
    print("writing", flush=True)
    sys.stdin.readline()
    for data, meta in frames[first:]:
        writer.append(data, meta)
print("closed", flush=True)
"""


class OtherWriter:
    """The second process; ``finish()`` lets it write its last frames and close the burst."""

    def __init__(self, source: Path, target: Path, first: int) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", WRITER, str(source), str(target), str(first)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None and self.process.stdout.readline() == "writing\n"

    def finish(self) -> None:
        if self.process.poll() is None:
            out, _ = self.process.communicate("go\n", timeout=60)
            assert out == "closed\n"


@pytest.fixture
def other_writer(engine, data_dir: Path) -> Iterator[tuple[str, OtherWriter]]:
    """(id, writer): burst ``id`` of the gallery, 3 of its 6 frames written, by a process still writing it."""
    source_id = write_focus_burst(engine, 6)
    source = data_dir / "source.zip"  # outside the gallery: only the other process's burst is listed
    os.replace(engine.store.burst_path(source_id), source)
    burst_id, target = engine.store.new_burst_path()
    writer = OtherWriter(source, target, 3)
    yield burst_id, writer
    writer.finish()


def test_a_burst_another_program_writes_is_not_deleted(client, engine, other_writer) -> None:
    burst_id, writer = other_writer
    answer = client.delete(f"/api/bursts/{burst_id}")
    assert answer.status_code == 409 and answer.get_json()["kind"] == "BurstBusy"
    assert "being written by another program" in answer.get_json()["error"]
    listed = {b["id"]: b for b in client.get("/api/bursts").get_json()}
    assert listed[burst_id]["status"] == "writing"
    writer.finish()  # the sweep ends with every frame in the file
    with open_burst(engine.store.burst_path(burst_id)) as reader:
        assert reader.frame_count == 6 and reader.verify() == []
    assert {b["id"]: b for b in client.get("/api/bursts").get_json()}[burst_id]["status"] == "complete"
    assert client.delete(f"/api/bursts/{burst_id}").status_code == 200


def test_a_burst_another_program_writes_is_not_stacked_or_indexed(client, engine, other_writer) -> None:
    burst_id, writer = other_writer
    answers = [client.post(f"/api/bursts/{burst_id}/stack", json={}),
               client.post(f"/api/bursts/{burst_id}/refocus-map"),
               client.post(f"/api/bursts/{burst_id}/export", json={"format": "zip"}),
               client.post(f"/api/bursts/{burst_id}/reshoot", json={"after": 0})]
    assert [a.status_code for a in answers] == [409] * 4
    assert all("being written by another program" in a.get_json()["error"] for a in answers)
    writer.finish()
    started = client.post(f"/api/bursts/{burst_id}/refocus-map")
    assert started.status_code == 202
    assert wait_job(client, started.get_json()["job"])["result"]["frames"] == 6
    right = client.get(f"/api/bursts/{burst_id}/refocus?x=0.8&y=0.5").get_json()
    assert right["frame"] >= 4, right  # the right half is sharp in the last frames, which came late


def test_a_focus_index_does_not_outlive_a_change_of_the_file(client, engine, data_dir: Path) -> None:
    """Another program renaming a new burst over the old one (a merge, a repair) makes its index stale."""
    burst_id = write_focus_burst(engine, 3)
    started = client.post(f"/api/bursts/{burst_id}/refocus-map")
    assert wait_job(client, started.get_json()["job"])["result"]["frames"] == 3
    assert client.get(f"/api/bursts/{burst_id}/refocus?x=0.8&y=0.5").get_json()["frame"] == 2
    longer_id = write_focus_burst(engine, 6)
    os.replace(engine.store.burst_path(longer_id), engine.store.burst_path(burst_id))
    stale = client.get(f"/api/bursts/{burst_id}/refocus?x=0.8&y=0.5")
    assert stale.status_code == 409 and "not ready" in stale.get_json()["error"]
    started = client.post(f"/api/bursts/{burst_id}/refocus-map")
    assert wait_job(client, started.get_json()["job"])["result"]["frames"] == 6
    assert client.get(f"/api/bursts/{burst_id}/refocus?x=0.8&y=0.5").get_json()["frame"] >= 4


def test_a_focus_index_outlives_a_change_that_keeps_the_frames(client, engine) -> None:
    """A title added to the burst changes its file, not its frames: the index a stack made is still good."""
    burst_id = write_focus_burst(engine, 6)
    started = client.post(f"/api/bursts/{burst_id}/stack", json={})
    assert wait_job(client, started.get_json()["job"])["state"] == "done"
    assert client.patch(f"/api/bursts/{burst_id}", json={"title": "Watch"}).status_code == 200
    tap = client.get(f"/api/bursts/{burst_id}/refocus?x=0.8&y=0.5")
    assert tap.status_code == 200 and tap.get_json()["frame"] >= 4
