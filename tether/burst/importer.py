"""``tether burst import``: turn a folder (or list) of stack images from any camera into a burst."""
from __future__ import annotations

import contextlib
import os
import re
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

from tether.burst.errors import BurstError
from tether.burst.format import EXT_MIME
from tether.burst.meta import FrameMeta
from tether.burst.writer import BurstWriter
from tether.fileio import StorageError, remedy
from tether.imagebytes import check_file_bytes, check_pixels, file_reader, header_size, sniff_mime, truncated

#: Extensions taken from a folder; anything else in it (except hidden files) is an error, not a silent skip.
IMAGE_EXTS = set(EXT_MIME) | {"jpg", "jpeg", "png", "tif", "tiff"}
_EXIF_MODEL, _EXIF_MAKE, _EXIF_IFD, _DATETIME_ORIGINAL = 0x0110, 0x010F, 0x8769, 0x9003


def _natural_key(path: Path) -> list[object]:
    """``img2`` before ``img10``: the order a photographer expects from a numbered stack."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def collect(paths: Iterable[Path | str]) -> list[Path]:
    """The image files named or inside the folders named, folders sorted by name; refuses non-images."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            children = sorted((p for p in path.iterdir() if not p.name.startswith(".")), key=_natural_key)
            files += [p for p in children if p.is_file()]
        elif path.is_file():
            files.append(path)
        else:
            raise BurstError(f"{path}: no such file or folder")
    if not files:
        raise BurstError("no images to import", hint="name a folder of JPEG/PNG/TIFF/RAW files, or the files")
    for path in files:
        ext = path.suffix.lower().lstrip(".")
        if ext not in IMAGE_EXTS:
            raise BurstError(f"{path}: not an image file (.{ext or '?'}); import takes JPEG, PNG, TIFF or RAW stills")
    return files


def _exif_facts(path: Path) -> tuple[float, dict[str, str]]:
    """Capture time and camera make/model from EXIF, when Pillow can read them."""
    from PIL import Image, UnidentifiedImageError

    try:
        # EXIF only, no pixels: Pillow's decompression-bomb warning and error are for a decode not done here
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                exif = image.getexif()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        return 0.0, {}
    camera = {k: str(exif[tag]).strip("\x00 ")
              for k, tag in (("manufacturer", _EXIF_MAKE), ("model", _EXIF_MODEL)) if tag in exif}
    stamp = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL)
    try:
        return (time.mktime(time.strptime(str(stamp), "%Y:%m:%d %H:%M:%S")) if stamp else 0.0), camera
    except ValueError:
        return 0.0, camera


def check_contents(path: Path) -> str:
    """The file's MIME type, after checking a JPEG/PNG/TIFF really is one, whole, and not too large to decode.

    RAW formats have many magic numbers: for them the extension is what the camera wrote.
    """
    expected = EXT_MIME.get(path.suffix.lower().lstrip("."), "")
    if expected not in ("image/jpeg", "image/png", "image/tiff"):
        return expected
    kind = expected.split("/")[1].upper()
    try:
        # the header, and after it a chunk at a time: a file of any size costs little memory
        with path.open("rb") as fh:
            read = file_reader(fh)
            if sniff_mime(read(0, 16)) != expected:
                raise BurstError(f"{path}: the contents are not a {kind} image")
            width, height = header_size(read)
            # a frame too large or cut short would only fail later, when stacked or exported
            if width:
                check_pixels(width, height, str(path))
                check_file_bytes(os.fstat(fh.fileno()).st_size, width, height, str(path))
            if not width or truncated(read):
                raise BurstError(f"{path}: the {kind} image is cut short or damaged; copy it again from the card")
    except OSError as exc:
        raise BurstError(f"{path}: cannot read ({exc.strerror})") from None
    return expected


def import_images(paths: Iterable[Path | str], out: Path | str, *, check_frames: Callable[[list[Path]], object],
                  progress: Callable[[int, int], None] | None = None,
                  on_frame: Callable[[bytes, FrameMeta], None] | None = None) -> Path:
    """Write a new burst at ``out`` with the images in name order; focus position = order in the stack.

    ``check_frames(files)`` refuses files that would not stack: of different sizes, or that do not decode
    (the image engine's check; this package decodes nothing), else the burst would pass ``burst verify``
    and fail only when stacked. ``on_frame(data, meta)`` is given each image once it is in the burst (the
    analysis beside the import)."""
    files = collect(paths)
    mimes = [check_contents(p) for p in files]  # every file checked before the burst is created
    check_frames(files)
    out = Path(out)
    first_time, camera = _exif_facts(files[0])
    # the folders' names only: a full path would tell whoever sees the burst (the web panel) about this machine
    sources = sorted({p.parent.resolve().name for p in files})
    sweep = {"mode": "imported", "source": sources[0] if len(sources) == 1 else sources, "frames": len(files),
             "note": "focus positions are the order of the files, not motor steps"}
    writer = BurstWriter.create(out, camera=camera or {"model": "unknown"}, sweep=sweep)
    try:
        for n, (path, mime) in enumerate(zip(files, mimes, strict=True)):
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise BurstError(f"{path}: cannot read ({exc.strerror})") from None
            captured_at = _exif_facts(path)[0] if n else first_time
            meta = FrameMeta(captured_at=captured_at or path.stat().st_mtime, focus_position=n,
                             step_class="unknown", source="still", filename=path.name, mime=mime)
            writer.append(data, meta)
            if on_frame:
                on_frame(data, meta)
            if progress:
                progress(n + 1, len(files))
        writer.close({"imported_files": [p.name for p in files]})
    except BaseException as exc:
        # the source images are untouched, so a half-made copy is only clutter
        with contextlib.suppress(Exception):
            writer.close(status="interrupted")
        out.unlink(missing_ok=True)
        if isinstance(exc, StorageError):  # the writer's hint speaks of kept frames and repairs: nothing is kept here
            raise exc.reworded(hint=f"no burst was kept; {remedy(exc)} and import again") from None
        raise
    return out
