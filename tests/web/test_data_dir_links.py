"""A link in the data dir to a file outside it is neither listed nor served: the panel hands out the data dir's
files, not whatever a link placed there points to."""
from __future__ import annotations

import os
from pathlib import Path


def test_an_export_linked_to_a_file_outside_is_not_served(client, data_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("not for the panel")
    (data_dir / "exports" / "leak.txt").symlink_to(outside)
    (data_dir / "exports" / "kept.txt").write_text("an export")
    (data_dir / "exports" / "alias.txt").symlink_to(data_dir / "exports" / "kept.txt")  # inside: still served
    for url in ("/api/exports/leak", "/api/exports/leak?inline=1", "/api/stills/leak/preview.jpg"):
        answer = client.get(url)
        assert answer.status_code == 404, url
        assert b"not for the panel" not in answer.data and str(tmp_path).encode() not in answer.data
        assert answer.get_json()["error"] == "no export 'leak'"
    assert client.delete("/api/exports/leak").status_code == 404 and outside.exists()
    assert sorted(e["id"] for e in client.get("/api/exports").get_json()) == ["alias", "kept"]
    assert client.get("/api/exports/alias").data == b"an export"


def test_a_burst_linked_to_a_file_outside_is_not_listed_or_served(client, engine, burst, data_dir: Path,
                                                                  tmp_path: Path) -> None:
    burst_id = burst(3)
    outside = tmp_path / "elsewhere.burst"
    os.replace(engine.store.burst_path(burst_id), outside)
    (data_dir / "bursts" / f"{burst_id}.burst").symlink_to(outside)
    assert client.get("/api/bursts").get_json() == []
    for url in (f"/api/bursts/{burst_id}", f"/api/bursts/{burst_id}/download", f"/api/bursts/{burst_id}/frames/0.jpg"):
        answer = client.get(url)
        assert answer.status_code == 404, url
        assert answer.get_json()["error"] == f"no burst '{burst_id}'" and str(tmp_path) not in answer.get_data(True)
    assert client.delete(f"/api/bursts/{burst_id}").status_code == 404 and outside.exists()


def test_a_data_dir_folder_moved_to_another_disk_by_a_link_is_still_served(client, data_dir: Path,
                                                                          tmp_path: Path) -> None:
    larger_disk = tmp_path / "larger-disk" / "exports"
    larger_disk.parent.mkdir()
    (data_dir / "exports").rename(larger_disk)
    (data_dir / "exports").symlink_to(larger_disk)  # what an administrator does when the disk fills up
    (larger_disk / "kept.txt").write_text("an export")
    (larger_disk / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (tmp_path / "secret.txt").write_text("not for the panel")
    assert [e["id"] for e in client.get("/api/exports").get_json()] == ["kept"]
    assert client.get("/api/exports/kept").data == b"an export"
    assert client.get("/api/exports/leak").status_code == 404
