"""ZIP64 records for bursts past 4 GiB, tested by lowering the threshold instead of writing 4 GiB."""
from __future__ import annotations

import shutil
import subprocess
import zipfile

import pytest

from tether.burst import BurstWriter, FrameMeta, open_burst, store_derived, zipcodec


def test_zip64_offsets_are_read_by_us_zipfile_and_unzip(tmp_path, make_jpeg, monkeypatch):
    monkeypatch.setattr(zipcodec, "ZIP64_LIMIT", 2000)  # every entry past 2000 bytes uses the ZIP64 forms
    path = tmp_path / "big.zip"
    frames = [make_jpeg(i) for i in range(6)]
    with BurstWriter.create(path, camera={}, sweep={}) as writer:
        for data in frames:
            writer.append(data, FrameMeta())
    store_derived(path, "depth.png", b"png")
    assert b"PK\x06\x06" in path.read_bytes()[-200:]
    with open_burst(path) as reader:
        assert not reader.recovered and reader.verify() == []
        assert [reader.frame_bytes(i) for i in range(6)] == frames
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None and archive.read("frames/000005.jpg") == frames[5]
    if shutil.which("unzip"):
        result = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    else:  # pragma: no cover
        pytest.skip("Info-ZIP unzip is not installed here; checked with Python's zipfile only")
