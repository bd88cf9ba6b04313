"""Fuzzing the reader: truncated or bit-flipped bursts give the right frames or a BurstError, nothing else."""
from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tether.burst import BurstError, BurstWriter, FrameMeta, open_burst, store_derived


@dataclass(frozen=True)
class Base:
    """The bytes of a valid burst and what was written into it: (index, focus position) by frame SHA-256."""
    data: bytes
    written: dict[str, tuple[int, int]]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    """A small closed burst with a replaced derived item (so it holds dead space and two directories)."""
    path = tmp_path_factory.mktemp("fuzz-base") / "base.zip"
    written: dict[str, tuple[int, int]] = {}
    with BurstWriter.create(path, camera={"model": "fuzz"}, sweep={"mode": "fuzz"}) as writer:
        for i in range(4):
            image = np.full((16, 24, 3), 40 * i, np.uint8)
            data = cv2.imencode(".jpg", image)[1].tobytes() + bytes([i]) * 64
            writer.append(data, FrameMeta(focus_position=10 * i, captured_at=1e9 + i))
            written[hashlib.sha256(data).hexdigest()] = (i, 10 * i)
    store_derived(path, "sharpness.json", b"[1,2,3]")
    store_derived(path, "sharpness.json", b"[1,2,3,4]")
    return Base(path.read_bytes(), written)


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where each fuzzed burst is written before it is read (one file, overwritten by every example)."""
    return tmp_path_factory.mktemp("fuzz-case") / "case.zip"


def check(data: bytes, base: Base, path: Path) -> None:
    """Open and read everything; any frame returned must be one that was written, with its own metadata."""
    path.write_bytes(data)
    with contextlib.suppress(BurstError), open_burst(path) as reader:
        reader.verify()
        reader.info()
        for i in range(reader.frame_count):
            meta = reader.meta(i)
            try:
                frame = reader.frame_bytes(i)
            except BurstError:
                continue
            digest = hashlib.sha256(frame).hexdigest()
            assert digest in base.written, f"frame {i} returned bytes that were never written"
            index, focus = base.written[digest]
            if not meta.extra.get("recovered"):
                assert (meta.index, meta.focus_position, meta.sha256) == (index, focus, digest)
        for name in reader.derived_names():
            with contextlib.suppress(BurstError):
                assert reader.derived(name) in (b"[1,2,3]", b"[1,2,3,4]")


# derandomized so CI is repeatable; raise max_examples locally to search harder
FUZZ = settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def test_the_base_burst_is_valid(base: Base, case: Path) -> None:
    case.write_bytes(base.data)
    with open_burst(case) as reader:
        assert reader.frame_count == 4 and reader.verify() == [] and not reader.recovered
        assert reader.derived("sharpness.json") == b"[1,2,3,4]"


@FUZZ
@given(draw=st.data())
def test_truncations(base: Base, case: Path, draw: st.DataObject) -> None:
    cut = draw.draw(st.integers(0, len(base.data)), label="cut")
    check(base.data[:cut], base, case)


@FUZZ
@given(draw=st.data())
def test_byte_flips(base: Base, case: Path, draw: st.DataObject) -> None:
    flips = draw.draw(st.lists(st.tuples(st.integers(0, len(base.data) - 1), st.integers(1, 255)),
                               min_size=1, max_size=4), label="flips")
    data = bytearray(base.data)
    for pos, mask in flips:
        data[pos] ^= mask
    check(bytes(data), base, case)


@FUZZ
@given(draw=st.data())
def test_flip_and_truncate(base: Base, case: Path, draw: st.DataObject) -> None:
    size = len(base.data)
    pos = draw.draw(st.integers(0, size - 1), label="pos")
    mask = draw.draw(st.integers(1, 255), label="mask")
    cut = draw.draw(st.integers(size // 2, size), label="cut")
    data = bytearray(base.data)
    data[pos] ^= mask
    check(bytes(data[:cut]), base, case)


def test_every_single_byte_of_the_directory_and_manifest_flipped(base: Base, case: Path) -> None:
    """Exhaustive where the structure lives: the end of the file (directories and manifests)."""
    start = base.data.find(b"PK\x01\x02")
    for pos in range(start, len(base.data), 3):
        data = bytearray(base.data)
        data[pos] ^= 0xFF
        check(bytes(data), base, case)
