"""One stack of a batch: what an item is, the key that names its result, and the idempotent run.

An item is a burst file or a folder of images. Its result is named by a key, a hash of what its
frames hold and of the options, so the same item run again (a rerun, or a task the broker
delivers a second time after its worker died) finds the finished result instead of stacking
twice, and never writes over it. The result appears whole or not at all: it is written to a
temporary file and linked into place; a task killed half-way leaves only that temporary file,
which the next attempt removes. Nothing here knows of Celery: ``tether batch`` runs items in
its own process the same way a worker does.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2

from tether.burst import open_burst
from tether.engine.burst_frames import BurstFrames
from tether.engine.heap import limit_heap_growth, release_free_heap
from tether.errors import TetherError
from tether.fileio import StorageError, write_atomic
from tether.imaging import FORMATS, METHODS, FrameSource, ImageFiles, encode_image, stack_frames
from tether.imaging.formats import readable_suffixes

BURST_SUFFIXES = (".burst", ".zip")
#: A batch result: ``<item>-stack-<key><suffix>``; never taken for a frame of a folder of images.
RESULT_NAME = re.compile(r"-stack-[0-9a-f]{16}\.[a-z]+$")

Report = Callable[[int, int, str], None]
_OUT_OF_MEMORY = ("{item}: ran out of memory (raise [cluster] task_memory_mb, or run fewer tasks at once on "
                  "this machine)")


class TaskFailed(TetherError):
    """Work that cannot be done, with the reason in words (crosses Celery as its one argument)."""


@dataclass(frozen=True)
class StackOptions:
    """What a batch does to each item: the stacking method and the output format (registry names)."""

    method: str = METHODS.default
    fmt: str = FORMATS.default

    def __post_init__(self) -> None:
        METHODS.pick(self.method)
        FORMATS.pick(self.fmt)

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def is_burst(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in BURST_SUFFIXES


def images_in(folder: Path) -> list[Path]:
    """The images of a folder of frames, by name (earlier batch results left out)."""
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in readable_suffixes() and not RESULT_NAME.search(p.name))


def find_items(paths: list[Path]) -> list[Path]:
    """Every burst, and every folder holding two images or more, in ``paths`` and the folders below them."""
    items: list[Path] = []
    for path in paths:
        if is_burst(path):
            items.append(path)
        elif path.is_dir():
            for folder in sorted([path, *(p for p in path.rglob("*") if p.is_dir())]):
                items.extend(p for p in sorted(folder.iterdir()) if is_burst(p))
                if len(images_in(folder)) >= 2:
                    items.append(folder)
        else:
            raise TaskFailed(f"{path}: neither a burst nor a folder")
    return list(dict.fromkeys(items))


def content_key(item: Path, options: StackOptions) -> str:
    """16 hex digits naming the result of stacking ``item`` with ``options``.

    A burst is known by its frames' checksums and sizes in the ZIP directory (read without reading
    the frames, and blind to derived data the server appends, like a focus index); a folder by
    its images' bytes.
    """
    digest = hashlib.sha256(json.dumps(options.to_dict(), sort_keys=True).encode())
    if item.is_dir():
        for image in images_in(item):
            digest.update(image.name.encode() + b"\0")
            with image.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
    else:
        with open_burst(item) as reader:
            names = {reader.frame_name(i): i for i in range(reader.frame_count)}
            for entry in reader.directory():
                if entry.name in names:
                    digest.update(f"{names[entry.name]}:{entry.size}:{entry.crc}\n".encode())
    return digest.hexdigest()[:16]


def result_path(item: Path, out_dir: Path | None, key: str, options: StackOptions) -> Path:
    """Where the result of ``item`` goes: ``out_dir`` (default: beside the item), named by its key."""
    stem = item.name if item.is_dir() else item.stem
    return (out_dir or item.parent) / f"{stem}-stack-{key}{FORMATS.pick(options.fmt).suffix}"


@contextmanager
def _frames(item: Path) -> Iterator[FrameSource]:
    if item.is_dir():
        yield ImageFiles(images_in(item))
        return
    with open_burst(item) as reader:
        yield BurstFrames(reader)


def stack_item(item: Path, out: Path, options: StackOptions, *, report: Report) -> dict[str, Any]:
    """Stack ``item`` into ``out`` unless ``out`` is there already; a dict saying what happened.

    Raises TaskFailed with the reason when the item is gone, unreadable, or memory runs out.
    """
    started = time.monotonic()
    facts = {"item": item.name, "output": out.name, "worker": f"{socket.gethostname()}:{os.getpid()}"}
    done_earlier = {**facts, "status": "done earlier", "frames": 0, "seconds": 0.0}
    if out.exists():
        return done_earlier
    if not item.exists():
        raise TaskFailed(f"{item.name} is gone: it was deleted or moved after it was queued")
    if not out.parent.is_dir():
        raise TaskFailed(f"{out.parent}: no such folder for the results")
    # A temporary file of an attempt that was killed (its worker lost) is all it can have left.
    for stale in out.parent.glob(f".{out.name}.*.part"):
        stale.unlink(missing_ok=True)
    limit_heap_growth()
    try:
        with _frames(item) as source:
            result = stack_frames(source, method=options.method, progress=report, on_strip_done=release_free_heap)
            data = encode_image(result.image, out.suffix, exif_from=source.exif_source(),
                                note=f"tether batch focus stack of {item.name}, {options.method}")
        write_atomic(out, data, overwrite=False)
    except MemoryError:
        raise TaskFailed(_OUT_OF_MEMORY.format(item=item.name)) from None
    except cv2.error as exc:  # OpenCV's own allocations fail with its error, not MemoryError
        if "Insufficient memory" in str(exc):
            raise TaskFailed(_OUT_OF_MEMORY.format(item=item.name)) from None
        raise
    except StorageError as exc:
        if out.exists():  # another attempt at the same key finished first: its result stands
            return done_earlier
        raise TaskFailed(str(exc)) from None
    except TetherError as exc:
        raise TaskFailed(f"{item.name}: {exc}") from None
    return {**facts, "status": "stacked", "frames": len(result.frames) - len(result.excluded),
            "seconds": round(time.monotonic() - started, 3)}
