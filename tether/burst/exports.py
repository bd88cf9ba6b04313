"""Exports for other tools: a JPEG folder (Zerene, Helicon, Lightroom), an MP4 (H.264), one frame, a ZIP.

Outputs never overwrite anything: files are created with O_EXCL or linked into place from a temporary.
A frame damaged in the burst is left out and the rest exported (any frame can be rescued); the result names it.
``progress(done, total)`` is called after each frame (and, for an MP4, once more with ``phase`` while the
encoder finishes the movie after the last frame); raising from it cancels the export (an MP4 or
ZIP leaves nothing behind; a folder keeps the frames written so far).
"""
from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tether.burst.encoder import h264_writer
from tether.burst.errors import BurstError
from tether.burst.reader import BurstReader
from tether.burst.tagging import tag_jpeg, xmp_packet
from tether.fileio import as_new_file, hold, storage_error, write_atomic
from tether.imagebytes import decodable_size
from tether.numbering import frame_number


class Progress(Protocol):
    """``progress(done, total, phase="")``: ``done`` of ``total`` frames; ``phase`` names work after them."""

    def __call__(self, done: int, total: int, *, phase: str = "") -> None: ...


def _noop(done: int, total: int, *, phase: str = "") -> None:
    pass


@dataclass(frozen=True)
class Exported:
    """What an export wrote: ``frames`` frames in ``files`` files at ``path``, as a ``kind`` (folder, zip, mp4,
    frame); ``skipped``: the indices of the frames left out, damaged in the burst (or, in a movie, undecodable);
    ``index``: the frame's, for one frame."""

    kind: str
    path: Path
    frames: int
    skipped: tuple[int, ...] = ()
    files: int = 1
    index: int | None = None


def frame_suffix(reader: BurstReader, i: int) -> str:
    """The suffix frame ``i``'s file has: the camera's (``.jpg``, ``.dng``, ``.rw2`` ...)."""
    return "." + reader.frame_name(i).rsplit(".", 1)[1]


def frame_file_name(reader: BurstReader, i: int, stem: str) -> str:
    """``<stem>_0007.jpg`` (frame 7, counted from 1 like every number a person reads): zero-padded so every
    tool sorts the stack in focus order."""
    meta = reader.meta(i)
    return f"{stem}_{frame_number(meta.index):04d}{frame_suffix(reader, i)}"


def tagged_frame(reader: BurstReader, i: int) -> bytes:
    """Frame ``i``'s bytes with EXIF/XMP metadata added (JPEG), or unchanged (RAW and others)."""
    data = reader.frame_bytes(i)
    if reader.meta(i).mime != "image/jpeg" or data[:2] != b"\xff\xd8":
        return data
    try:
        return tag_jpeg(data, reader.meta(i), reader.manifest.get("camera", {}))
    except (ValueError, OSError):  # a corrupt frame whose header cannot take segments: ship it as it came
        return data


def _intact(reader: BurstReader, i: int, skipped: list[int]) -> bytes | None:
    """Frame ``i`` tagged, or None (noted in ``skipped``) when its stored bytes are damaged."""
    try:
        return tagged_frame(reader, i)
    except BurstError:
        skipped.append(i)
        return None


def export_folder(reader: BurstReader, out_dir: Path | str, *, stem: str | None = None,
                  progress: Progress = _noop) -> Exported:
    """Write every frame to a new (or empty) folder with metadata; non-JPEG frames get a ``.xmp`` sidecar."""
    out_dir = Path(out_dir)
    stem = stem or _stem(reader.path)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise BurstError(f"{out_dir}: exists and is not an empty folder; tether never overwrites exports")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(exc, out_dir) from None
    files, skipped = 0, list[int]()
    for i in range(reader.frame_count):
        data = _intact(reader, i, skipped)
        if data is not None:
            target = out_dir / frame_file_name(reader, i, stem)
            write_atomic(target, data, overwrite=False)
            files += 1
            if reader.meta(i).mime != "image/jpeg":
                sidecar = target.with_suffix(".xmp")
                write_atomic(
                    sidecar, xmp_packet(reader.meta(i), reader.manifest.get("camera", {})).encode(), overwrite=False
                )
                files += 1
        progress(i + 1, reader.frame_count)
    return Exported("folder", out_dir, reader.frame_count - len(skipped), tuple(skipped), files)


def export_frame(reader: BurstReader, i: int, out: Path | str) -> Path:
    """Write frame ``i`` with its metadata to ``out`` (a file name, or a folder to put it in)."""
    out = Path(out)
    if out.is_dir():
        out = out / frame_file_name(reader, i, _stem(reader.path))
    suffix = frame_suffix(reader, i)
    if out.suffix.lower() not in (suffix, ".jpeg" if suffix == ".jpg" else suffix):
        # the camera's bytes are written as they are: a RAW named .jpg would open nowhere
        raise BurstError(f"{out}: frame {frame_number(i)} is a {suffix} file from the camera",
                         hint=f"name the file *{suffix}")
    return write_atomic(out, tagged_frame(reader, i), overwrite=False)


def export_zip(reader: BurstReader, out: Path | str, *, progress: Progress = _noop) -> Exported:
    """A plain ZIP of the tagged frames (stored, not recompressed) for sending to someone."""
    out = Path(out)
    stem = _stem(reader.path)
    skipped: list[int] = []
    _publish(out, lambda tmp: _write_zip(reader, tmp, stem, progress, skipped))
    return Exported("zip", out, reader.frame_count - len(skipped), tuple(skipped))


def _write_zip(reader: BurstReader, tmp: Path, stem: str, progress: Progress, skipped: list[int]) -> None:
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
        for i in range(reader.frame_count):
            data = _intact(reader, i, skipped)
            if data is not None:
                archive.writestr(f"{stem}/{frame_file_name(reader, i, stem)}", data)
            progress(i + 1, reader.frame_count)


def export_mp4(
    reader: BurstReader, out: Path | str, *, fps: float = 10.0, width: int | None = None, progress: Progress = _noop
) -> Exported:
    """Encode the frames (in focus order) as H.264 MP4 with imageio-ffmpeg's ffmpeg."""
    out = Path(out)
    if not 0 < fps <= 240:
        raise BurstError(f"frame rate {fps:g} fps is not accepted: give more than 0 and at most 240")
    decodable = [i for i in range(reader.frame_count) if reader.meta(i).mime in ("image/jpeg", "image/png")]
    if not decodable:
        raise BurstError(f"{reader.path}: no JPEG frames to put in a movie")
    src_w, src_h = _source_size(reader, decodable)
    target_w = min(width or src_w, src_w)
    target_h = max(2, round(src_h * target_w / src_w))
    size = (target_w - target_w % 2, target_h - target_h % 2)  # yuv420p needs even sides
    reduce = max((r for r in (1, 2, 4, 8) if src_w // r >= size[0]), default=1)
    skipped: list[int] = []
    _publish(out, lambda tmp: _encode(reader, tmp, decodable, size, reduce, fps, progress, skipped))
    return Exported("mp4", out, len(decodable) - len(skipped), tuple(skipped))


def _source_size(reader: BurstReader, frames: list[int]) -> tuple[int, int]:
    """The frames' size from the first intact one's header, not its metadata: checked before ffmpeg starts."""
    for i in frames:
        try:
            w, h = decodable_size(reader.frame_bytes(i), f"{reader.path}: frame {frame_number(i)}")
            if not (w and h):
                h, w = reader.frame_image(i).shape[:2]
        except BurstError:  # damaged: the movie goes without it, the next frame tells the size
            continue
        return w, h
    raise BurstError(f"{reader.path}: none of the frames could be decoded for the movie")


def _encode(
    reader: BurstReader,
    tmp: Path,
    frames: list[int],
    size: tuple[int, int],
    reduce: int,
    fps: float,
    progress: Progress,
    skipped: list[int],
) -> None:
    import cv2

    with h264_writer(tmp, size, fps) as send:
        for n, i in enumerate(frames):
            try:
                image = reader.frame_image(i, reduce=reduce)
            except BurstError:  # damaged in the burst, or sent broken by the camera: the movie goes without it
                skipped.append(i)
            else:
                if (image.shape[1], image.shape[0]) != size:
                    image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
                send(image.tobytes())
            progress(n + 1, len(frames))
        if len(skipped) == len(frames):
            raise BurstError(f"{reader.path}: none of the frames could be decoded for the movie")
        # the encoder has the frames it buffered still to encode and the file to write (seconds on a busy
        # machine, at every frame's 100 %): said, not left to look stuck
        progress(len(frames), len(frames), phase="finishing the movie")


def _publish(out: Path, produce: Callable[[Path], None]) -> Path:
    """Run ``produce`` on a temporary beside ``out``, then link it into place (fails rather than overwrite)."""
    if out.exists():
        raise BurstError(f"{out}: already exists; tether never overwrites exports")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part" + out.suffix, dir=parent)
    except OSError as exc:
        raise storage_error(exc, out) from None
    tmp = Path(name)
    try:
        try:  # held open (and so locked) until the export is in place or gone: see remove_leftovers
            hold(fd)
            as_new_file(fd)
            produce(tmp)
            os.fsync(fd)
            os.link(tmp, out)
        finally:
            os.close(fd)
    except FileExistsError:
        raise BurstError(f"{out}: already exists; tether never overwrites exports") from None
    except OSError as exc:
        raise storage_error(exc, out) from None
    finally:
        tmp.unlink(missing_ok=True)
    return out


def export(
    reader: BurstReader,
    target: Path | str,
    *,
    frame: int | None = None,
    fps: float = 10.0,
    width: int | None = None,
    progress: Progress = _noop,
) -> Exported:
    """Pick the export by ``target``: ``*.mp4`` movie, ``*.zip`` archive, ``*.jpg`` (or the RAW's suffix) one
    frame, else a folder."""
    target = Path(target)
    suffix = target.suffix.lower()
    one_frame = {".jpg", ".jpeg"} | ({frame_suffix(reader, 0)} if reader.frame_count else set())
    if frame is not None or suffix in one_frame:
        index = frame if frame is not None else reader.frame_count // 2
        return Exported("frame", export_frame(reader, index, target), 1, index=index)
    if suffix == ".mp4":
        return export_mp4(reader, target, fps=fps, width=width, progress=progress)
    if suffix == ".zip":
        return export_zip(reader, target, progress=progress)
    if suffix:
        raise BurstError(
            f"{target}: cannot export to a '{suffix}' file", hint="use a folder, FILE.mp4, FILE.zip or FILE.jpg"
        )
    return export_folder(reader, target, progress=progress)


def _stem(path: Path) -> str:
    name = path.name
    return name[:-4] if name.lower().endswith(".zip") else path.stem


__all__ = ["Exported", "export", "export_folder", "export_frame", "export_mp4", "export_zip", "frame_suffix"]
