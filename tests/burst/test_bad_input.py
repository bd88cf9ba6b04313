"""Broken, foreign and hostile files: each gives one clear error naming the file and the problem."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tether.burst import BurstError, CorruptBurst, UnsupportedVersion, open_burst, store_derived


def rewrite(
    src: Path, dst: Path, *, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None
) -> Path:
    """Copy a burst entry by entry with Python's zipfile (stored), replacing or adding entries."""
    replace, add = replace or {}, add or {}
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as new:
        for info in old.infolist():
            new.writestr(info.filename, replace.get(info.filename, old.read(info.filename)))
        for name, data in add.items():
            new.writestr(name, data)
    return dst


def edit_manifest(src: Path, dst: Path, change) -> Path:
    with zipfile.ZipFile(src) as old:
        manifest = json.loads(old.read("manifest.json"))
    change(manifest)
    return rewrite(src, dst, replace={"manifest.json": json.dumps(manifest).encode()})


def test_a_burst_rewritten_by_another_zip_tool_still_reads(make_burst, tmp_path):
    path, frames = make_burst(3)
    copy = rewrite(path, tmp_path / "copy.zip")
    with open_burst(copy) as reader:
        assert not reader.recovered and reader.verify() == []
        assert reader.frame_bytes(2) == frames[2]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"hello, this is not a zip file at all" * 3, "not a ZIP"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "not a ZIP"),
    ],
)
def test_non_zip_files(tmp_path, content, message):
    path = tmp_path / "thing.zip"
    path.write_bytes(content)
    with pytest.raises(CorruptBurst, match=message) as info:
        open_burst(path)
    assert str(path) in str(info.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(BurstError, match="no such file"):
        open_burst(tmp_path / "nope.zip")
    with pytest.raises(BurstError, match="folder"):
        open_burst(tmp_path)


def test_zip_of_a_foreign_layout(tmp_path):
    path = tmp_path / "holiday.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("IMG_0001.JPG", b"\xff\xd8\xff" + bytes(50))
        archive.writestr("notes.txt", "hi")
    with pytest.raises(CorruptBurst, match="not a tether burst") as info:
        open_burst(path)
    assert str(path) in str(info.value)


def test_truncated_before_the_first_frame(make_burst, tmp_path):
    path, _ = make_burst(2)
    cut = tmp_path / "cut.zip"
    cut.write_bytes(path.read_bytes()[:40])  # inside burst.json
    with pytest.raises(CorruptBurst, match=r"burst\.json") as info:
        open_burst(cut)
    assert str(cut) in str(info.value)


def test_truncated_in_the_middle_opens_recovered_and_says_so(make_burst, tmp_path):
    path, _ = make_burst(4)
    data = path.read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(data[: data.find(b"frames/000002.jpg") + 100])
    with open_burst(cut) as reader:
        assert reader.recovered and reader.frame_count == 2
        problems = reader.verify()
        assert any("never closed" in p or "truncated" in p for p in problems), problems
        assert any(p.startswith("frame 3: ") for p in problems), problems  # frames/000002.jpg, counted from 1


def test_wrong_checksum_is_reported_by_read_and_verify(make_burst):
    path, frames = make_burst(4)
    data = bytearray(path.read_bytes())
    at = data.find(frames[2]) + len(frames[2]) // 2
    data[at] ^= 0x55
    path.write_bytes(bytes(data))
    with open_burst(path) as reader:
        assert reader.frame_bytes(1) == frames[1]
        with pytest.raises(CorruptBurst, match=r"frames/000002.jpg is damaged \(checksum mismatch\)") as info:
            reader.frame_bytes(2)
        assert str(path) in str(info.value)
        problems = reader.verify()
        assert problems == ["frame 3: frames/000002.jpg is damaged (checksum mismatch)"]  # counted from 1


def test_sha256_that_disagrees_with_the_frame(make_burst, tmp_path):
    path, _ = make_burst(3)
    bad = edit_manifest(path, tmp_path / "bad.zip", lambda m: m["frames"][1].update(sha256="0" * 64))
    with open_burst(bad) as reader:
        problems = reader.verify()
    assert "frame 2 (frames/000001.jpg): SHA-256 does not match its metadata" in problems, problems


@pytest.mark.parametrize("name", ["../evil.jpg", "/etc/passwd", "frames/../../evil.jpg", "C:/x.jpg", "a\\..\\b"])
def test_path_traversal_entry_names_are_refused(make_burst, tmp_path, name):
    path, _ = make_burst(2)
    bad = rewrite(path, tmp_path / "bad.zip", add={name: b"gotcha"})
    with pytest.raises(CorruptBurst, match="path traversal") as info:
        open_burst(bad)
    assert str(bad) in str(info.value) and repr(name) in str(info.value)


@pytest.mark.parametrize("name", ["../x", "a/b", "", ".hidden", "x" * 200, "a..b"])
def test_derived_names_are_validated(make_burst, name):
    path, _ = make_burst(1)
    before = path.read_bytes()
    with pytest.raises(BurstError, match="not allowed"):
        store_derived(path, name, b"data")
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m.update(frame_count="2"), "'frame_count' must be int, got str"),
        (lambda m: m.update(frame_count=5), "'frame_count' is 5 but 2 frames"),
        (lambda m: m.update(camera=["x"]), "'camera' must be dict"),
        (lambda m: m.update(frames={"a": 1}), "'frames' must be list"),
        (lambda m: m["frames"][1].update(focus_position="near"), r"frames\[1\]: 'focus_position' must be int"),
        (lambda m: m["frames"][0].update(corrupt="no"), r"frames\[0\]: 'corrupt' must be bool"),
        (lambda m: m["frames"][0].update(width=True), r"'width' must be int, got bool"),
        (lambda m: m["frames"][0].update(source="radio"), "source 'radio'"),
        (lambda m: m.update(format="something-else"), "not a tether burst"),
        (lambda m: m.update(version=1.0), "not of the form 'major.minor'"),
        (lambda m: m.update(derived={"../x": {}}), "not allowed"),
    ],
)
def test_manifest_with_wrong_types(make_burst, tmp_path, change, message):
    path, _ = make_burst(2)
    bad = edit_manifest(path, tmp_path / "bad.zip", change)
    with pytest.raises(BurstError, match=message) as info:
        open_burst(bad)
    assert f"{bad}: manifest.json" in str(info.value)


def test_manifest_that_is_not_json(make_burst, tmp_path):
    path, _ = make_burst(2)
    bad = rewrite(path, tmp_path / "bad.zip", replace={"manifest.json": b"{not json"})
    with pytest.raises(CorruptBurst, match=r"manifest\.json: not valid JSON"):
        open_burst(bad)


def test_a_newer_major_version_is_refused_clearly(make_burst, tmp_path):
    path, _ = make_burst(2)
    newer = edit_manifest(path, tmp_path / "newer.zip", lambda m: m.update(version="2.0"))
    with pytest.raises(UnsupportedVersion, match=r"format 2.0 is newer than this tether reads \(1.0\)") as info:
        open_burst(newer)
    assert "upgrade tether" in str(info.value)
    minor = edit_manifest(path, tmp_path / "minor.zip", lambda m: m.update(version="1.7", future_field=[1]))
    with open_burst(minor) as reader:  # a newer minor version only adds things: still readable
        assert reader.frame_count == 2


def test_compressed_entries_are_refused(make_burst, tmp_path):
    path, _ = make_burst(2)
    zipped = tmp_path / "deflated.zip"
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info.filename))
    with pytest.raises(CorruptBurst, match="compressed"):
        open_burst(zipped)
