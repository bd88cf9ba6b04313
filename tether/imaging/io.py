"""Reading frames from image files or bursts, and writing results with the reference frame's EXIF.

The algorithms never touch files; this module is the boundary. Frame sources are
lazy sequences: ``len(source)``, ``source.read(i, reduce=1)`` -> (H, W, 3) BGR uint8 or
uint16, ``source.shape`` (H, W) and ``source.dtype``; frames are decoded only when read,
so a stack of any length costs one frame of memory at a time.
"""
from __future__ import annotations

import functools
import io
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Generic, Protocol, TypeVar

import cv2
import numpy as np
import simplejpeg

from tether.fileio import describe_os_error, write_atomic_with
from tether.imagebytes import check_pixels, decodable_size, file_image_size, sniff_mime
from tether.imaging.errors import ImagingError, MismatchedFrames, UnreadableImage
from tether.imaging.formats import format_of
from tether.imaging.rawfile import decode_raw, is_raw, raw_exif, raw_size
from tether.imaging.tiffout import write_tiff_file
from tether.numbering import frame_number

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

_NOT_AN_IMAGE = "not an image tether can read (JPEG, PNG or TIFF)"
K = TypeVar("K")
T = TypeVar("T")
_REDUCED = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}


class FrameSource(Protocol):
    """A lazily decoded sequence of equally sized frames: all the image engine knows of where frames come from.

    ``shape`` (H, W) and ``dtype`` (uint8 or uint16) of every frame; ``read(i, reduce=k)`` decodes
    frame ``i`` as (H, W, 3) BGR scaled by 1/k; ``exif_source()`` the bytes of the reference
    frame's file, whose EXIF the results carry (None: none).
    """

    shape: tuple[int, int]
    dtype: np.dtype

    def __len__(self) -> int: ...

    def read(self, i: int, *, reduce: int = 1) -> np.ndarray: ...

    def exif_source(self) -> bytes | None: ...


def as_bgr(image: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 3) or (H, W, 4) uint8/uint16 as (H, W, 3) BGR of the same dtype."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


def shrink(image: np.ndarray, reduce: int) -> np.ndarray:
    """``image`` scaled by 1/``reduce`` with area averaging (the JPEG decoder's scaling, for other formats)."""
    if reduce == 1:
        return image
    h, w = image.shape[:2]
    return cv2.resize(image, (max(1, w // reduce), max(1, h // reduce)), interpolation=cv2.INTER_AREA)


def read_image(path: Path | str, *, reduce: int = 1, whole: bool = False) -> np.ndarray:
    """Decode an image file to (H, W, 3) BGR, uint8 or uint16 (16-bit files stay 16-bit).

    The header's size is checked first (:func:`tether.imagebytes.check_pixels`): nothing is decoded
    whose size is unknown or beyond the limit. ``whole``: a PNG or TIFF is first checked with
    :func:`check_decodes` (a file's first read: OpenCV would pass over damage).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UnreadableImage(describe_os_error(exc, path)) from None
    if not raw:
        raise UnreadableImage(f"{path}: the file is empty")
    if is_raw(raw, path.name):
        return decode_raw(raw, str(path), reduce=reduce)
    if decodable_size(raw, str(path)) == (0, 0):
        raise UnreadableImage(f"{path}: {_NOT_AN_IMAGE}")
    if whole:
        check_decodes(raw, str(path))
    data = np.frombuffer(raw, np.uint8)
    is_jpeg = raw[:2] == b"\xff\xd8"
    if is_jpeg and reduce in (1, *_REDUCED):
        image = _decode_jpeg(data, reduce, str(path))
        if image is not None:
            return image
    flags = _REDUCED[reduce] if (is_jpeg and reduce in _REDUCED) else cv2.IMREAD_UNCHANGED
    # Pixels as stored, at every scale (the EXIF orientation, carried to the output, says how to show them).
    image = cv2.imdecode(data, flags | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        raise UnreadableImage(f"{path}: {_NOT_AN_IMAGE}")
    if image.dtype not in (np.uint8, np.uint16):
        raise UnreadableImage(f"{path}: {image.dtype} samples are not supported; use 8- or 16-bit images")
    image = as_bgr(image)
    return image if (is_jpeg and reduce in _REDUCED) else shrink(image, reduce)


def check_decodes(data: bytes | BinaryIO, what: str) -> None:
    """Refuse, naming ``what``, a PNG or TIFF whose pixel data does not decode whole (other formats pass).

    ``data``: the file's bytes, or the open file, read from its start as the decoder goes rather than all at once.
    OpenCV's TIFF decoder only logs libtiff's errors (to stderr, without the file's name) and returns
    the picture with garbage where the data is damaged, which would be stacked as if it were sharp;
    Pillow's decoders raise instead. A decode costs about as much as OpenCV's, so each file is checked
    once (its first read), and the pixels are dropped. A camera RAW is no TIFF here, whatever its header
    says (CR2, NEF, DNG and ARW are TIFF-based): only LibRaw decides whether one decodes.
    """
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    stream.seek(0)
    kind = {"image/png": "PNG", "image/tiff": "TIFF"}.get(sniff_mime(stream.read(16)))
    if kind is None:
        return
    from PIL import Image

    _quiet_libtiff()
    try:
        # the size was checked against tether's own limit: Pillow's lower bomb limit is for unchecked files
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            stream.seek(0)
            with Image.open(stream) as picture:
                picture.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise UnreadableImage(f"{what}: the {kind} image is damaged: its pixel data does not decode",
                              hint="copy it again from the card, or leave it out") from None


@functools.cache
def _quiet_libtiff() -> None:
    """Stop the libtiff Pillow decodes with from printing its errors ("tempfile.tif: Using code not yet in
    table") to stderr: Pillow raises on them anyway, and :func:`check_decodes` names the file instead.
    Pillow installs a handler for libtiff's warnings but not for its errors; where its libtiff cannot
    be reached this way (another platform's linking), the lines stay, and the check still works."""
    import ctypes

    from PIL import _imaging

    with suppress(OSError, AttributeError):
        set_handler = ctypes.CDLL(_imaging.__file__).TIFFSetErrorHandler  # found in Pillow's libtiff
        set_handler.restype, set_handler.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
        set_handler(None)


def checked_size(path: Path) -> tuple[int, int]:
    """(H, W) of an image file, once it is known to decode: a RAW opened by LibRaw (and by nothing else: see
    :func:`check_decodes`), a PNG or TIFF decoded by :func:`check_decodes` from the file, a JPEG's header read;
    the file is opened once (LibRaw opens a RAW again, as far as its header)."""
    try:
        with path.open("rb") as fh:
            size, raw = _file_size(fh, path)
            if not raw:
                check_decodes(fh, str(path))
    except OSError as exc:
        raise UnreadableImage(describe_os_error(exc, path)) from None
    return size


def check_frame_files(paths: Sequence[Path]) -> None:
    """Refuse image files that would not stack: of different sizes, or that do not decode (each PNG and
    TIFF is decoded whole): what ``tether burst import`` checks before it writes anything."""
    common_size(paths, checked_size)


def common_size(paths: Sequence[Path], size: Callable[[Path], tuple[int, int]]) -> tuple[int, int]:
    """The (H, W) all of ``paths`` have by ``size(path)`` (which refuses what it cannot read); MismatchedFrames
    naming the first file of another size."""
    if not paths:
        raise ImagingError("no input images given")
    sizes = []
    for p in paths:
        if not p.is_file():
            raise UnreadableImage(f"{p}: no such file")
        sizes.append(size(p))
    for p, s in zip(paths, sizes, strict=True):
        if s != sizes[0]:
            raise MismatchedFrames(f"{p}: {s[1]}x{s[0]} pixels, but {paths[0]} is {sizes[0][1]}x{sizes[0][0]}; "
                                   "all frames of a stack must have one size")
    return sizes[0]


def _decode_jpeg(data: np.ndarray, reduce: int, what: str) -> np.ndarray | None:
    """A colour JPEG as BGR, scaled by 1/``reduce`` in the decoder; None for what only OpenCV reads (CMYK).

    libjpeg-turbo through simplejpeg, with the same pixels as OpenCV's decoder at every scale, but
    decoded straight into the returned array: ``cv2.imdecode`` briefly needs the frame twice.
    Damaged data (cut short, corrupt) is UnreadableImage naming ``what``: handed on to OpenCV, its
    libjpeg would print its own "Corrupt JPEG data" lines to stderr and decode the picture half grey.
    """
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        return None
    # The smallest of libjpeg's M/8 scales at least 1/reduce of the size: exactly 1/reduce, rounded up.
    scale = {"min_height": -(-height // reduce), "min_width": -(-width // reduce)}
    try:
        image: np.ndarray = simplejpeg.decode_jpeg(data, colorspace="BGR", **scale)
        return image
    except ValueError as exc:
        problem = str(exc)
    try:  # what decodes once libjpeg's warnings are let pass was damaged; what does not, only OpenCV reads
        simplejpeg.decode_jpeg(data, colorspace="BGR", strict=False, **scale)
    except ValueError:
        return None
    raise UnreadableImage(f"{what}: the JPEG is damaged ({problem})", hint="replace the file, or leave it out")


def image_size(path: Path) -> tuple[int, int]:
    """(H, W) of an image file from its header alone, after checking it against the largest size tether decodes."""
    try:
        with path.open("rb") as fh:
            return _file_size(fh, path)[0]
    except OSError as exc:
        raise UnreadableImage(describe_os_error(exc, path)) from None


def _file_size(fh: BinaryIO, path: Path) -> tuple[tuple[int, int], bool]:
    """(:func:`image_size` of ``path``, open as ``fh``; whether the file is a camera RAW, by its name or its header)."""
    if is_raw(fh.read(1 << 16), path.name):
        return raw_size(path, str(path)), True
    width, height = file_image_size(fh)
    if not width:
        raise UnreadableImage(f"{path}: {_NOT_AN_IMAGE}")
    check_pixels(width, height, str(path))
    return (height, width), False


class ImageFiles:
    """Image files as a frame source, in the order given; sizes are checked before any work starts."""

    def __init__(self, paths: Sequence[Path | str]) -> None:
        self.paths = [Path(p) for p in paths]
        self.shape = common_size(self.paths, image_size)
        # The first frame sets the sample depth: 16-bit input gives a 16-bit stack.
        self.dtype = read_image(self.paths[0], reduce=8, whole=True).dtype
        #: Frames whose file was checked whole (:func:`check_decodes`) at its first read.
        self._checked = {0}

    def __len__(self) -> int:
        return len(self.paths)

    def read(self, i: int, *, reduce: int = 1) -> np.ndarray:
        image = read_image(self.paths[i], reduce=reduce, whole=i not in self._checked)
        self._checked.add(i)
        if reduce == 1 and image.shape[:2] != self.shape:
            raise MismatchedFrames(f"{self.paths[i]}: decodes to {image.shape[1]}x{image.shape[0]}, "
                                   f"expected {self.shape[1]}x{self.shape[0]}")
        if image.dtype != self.dtype:  # mixed depths: the first frame's, if no frame loses its bits to it
            if self.dtype == np.uint8:
                raise MismatchedFrames(f"{self.paths[i]}: 16-bit, but the first frame {self.paths[0]} is 8-bit "
                                       "and sets the stack's depth",
                                       hint="put a 16-bit frame first for a 16-bit stack, or convert them alike")
            image = image.astype(np.uint16) * 257
        return image

    def exif_source(self) -> bytes | None:
        """The bytes of the reference (first) file, whose EXIF the result carries."""
        try:
            return self.paths[0].read_bytes()
        except OSError:
            return None


class ArrayFrames:
    """In-memory (H, W, 3) uint8/uint16 frames as a frame source (tests, the web layer's small previews)."""

    def __init__(self, frames: Sequence[np.ndarray]) -> None:
        if not frames:
            raise ImagingError("no frames given")
        self.frames = [as_bgr(f) for f in frames]
        height, width = self.frames[0].shape[:2]
        self.shape = (height, width)
        self.dtype = self.frames[0].dtype
        for k, f in enumerate(self.frames):
            if f.shape != self.frames[0].shape or f.dtype != self.dtype:
                raise MismatchedFrames(f"frame {frame_number(k)} is {f.shape[1]}x{f.shape[0]} {f.dtype}, "
                                       f"frame {frame_number(0)} is {self.shape[1]}x{self.shape[0]} {self.dtype}")

    def __len__(self) -> int:
        return len(self.frames)

    def read(self, i: int, *, reduce: int = 1) -> np.ndarray:
        return shrink(self.frames[i], reduce)

    def exif_source(self) -> bytes | None:
        return None


# -- reading ahead ------------------------------------------------------------------------

class WorkAhead(Generic[K, T]):
    """``work(key)`` done on a worker thread, one key ahead: :meth:`get` answers ``key`` (from the guess
    made at the previous call, if it was right) and starts on the guess ``then`` before returning.

    OpenCV and libjpeg-turbo release the GIL, so the guess runs on the other core while the caller
    uses this answer; one answer is held ahead, so memory does not grow with the stack. A guess
    the caller does not take is dropped. All the work runs on the one worker, in order, so what
    ``work`` reads is never read from two threads at once.
    """

    def __init__(self, work: Callable[[K], T], pool: ThreadPoolExecutor) -> None:
        self._work, self._pool = work, pool
        self._pending: tuple[K, Future[T]] | None = None

    def get(self, key: K, *, then: K | None = None) -> T:
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] == key:
            future = pending[1]
        else:
            if pending is not None:
                pending[1].cancel()  # a wrong guess (if already running, its answer is dropped)
            future = self._pool.submit(self._work, key)
        if then is not None:
            self._pending = (then, self._pool.submit(self._work, then))
        return future.result()


@contextmanager
def working_ahead(work: Callable[[K], T]) -> Iterator[WorkAhead[K, T]]:
    """A :class:`WorkAhead` of ``work`` for the ``with`` block; its worker thread ends with it, and a
    guess still queued then (the block finished, was cancelled or failed) is not worked on."""
    from concurrent.futures import ThreadPoolExecutor  # (with logging, which it imports: only when stacking)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tether-ahead")
    try:
        yield WorkAhead(work, pool)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class Prefetched:
    """``source`` with frame i + 1 decoded (at the same scale) on a worker thread while frame i is used,
    for readers that go through a stack in order, as pass 1 does (see :class:`WorkAhead`; at pass 1's
    half size the frame read ahead is a quarter of a frame's bytes)."""

    def __init__(self, source: FrameSource, ahead: WorkAhead[tuple[int, int], np.ndarray]) -> None:
        self._source, self._ahead = source, ahead
        self.shape, self.dtype = source.shape, source.dtype

    def __len__(self) -> int:
        return len(self._source)

    def read(self, i: int, *, reduce: int = 1) -> np.ndarray:
        return self._ahead.get((i, reduce), then=(i + 1, reduce) if i + 1 < len(self._source) else None)

    def exif_source(self) -> bytes | None:
        return self._source.exif_source()


@contextmanager
def reading_ahead(source: FrameSource) -> Iterator[FrameSource]:
    """``source`` as a :class:`Prefetched` source for the ``with`` block (see :func:`working_ahead`)."""
    def read(key: tuple[int, int]) -> np.ndarray:
        return source.read(key[0], reduce=key[1])

    with working_ahead(read) as ahead:
        yield Prefetched(source, ahead)


# -- writing ----------------------------------------------------------------------------

def encode_image(image: np.ndarray, suffix: str, *, exif_from: bytes | None = None, note: str = "",
                 quality: int = 95) -> bytes:
    """Encode (H, W[, 3]) uint8/uint16 for ``suffix`` (.jpg .png .tif); EXIF of ``exif_from`` plus ``note``.

    JPEG is 8-bit: a 16-bit image is reduced for it. PNG and TIFF keep 16 bits. EXIF is
    carried into all three; TIFF also gets an sRGB ICC profile (:mod:`tether.imaging.tiffout`).
    """
    buf = io.BytesIO()
    _encoder(image, suffix, exif_from=exif_from, note=note, quality=quality)(buf)
    return buf.getvalue()


def _encoder(image: np.ndarray, suffix: str, *, exif_from: bytes | None, note: str,
             quality: int = 95) -> Callable[[BinaryIO], object]:
    """A function that encodes ``image`` into a file as :func:`encode_image` describes; arguments are checked now."""
    image_format = format_of(suffix)
    if image.dtype == np.uint16 and 16 not in image_format.depths:
        image = (image.astype(np.uint32) * 255 + 32767) // 65535
        image = image.astype(np.uint8)
    exif = _exif_bytes(exif_from, note)
    if image_format.name == "tiff":
        return lambda fh: write_tiff_file(fh, image, exif)
    if image.dtype == np.uint8 and (exif or image_format.pillow == "JPEG"):
        fmt = image_format.pillow
        options: dict[str, Any] = {"exif": exif} if exif else {}
        if fmt == "JPEG":
            options.update(quality=quality, subsampling=0)

        def save(fh: BinaryIO) -> None:
            from PIL import Image

            # Pillow reads the BGR pixels itself (no RGB copy) and its encoder streams into the file.
            picture = (Image.fromarray(image) if image.ndim == 2 else
                       Image.frombuffer("RGB", (image.shape[1], image.shape[0]), np.ascontiguousarray(image),
                                        "raw", "BGR", 0, 1))
            picture.save(fh, fmt, **options)

        return save
    ok, data = cv2.imencode(image_format.suffix, image)
    if not ok:
        raise ImagingError(f"OpenCV could not encode a {image.dtype} image as {suffix}")
    return lambda fh: fh.write(data.data)


# Tags that describe how a TIFF source stores its pixels (size, strips, tiles, compression): they
# are not facts about the picture, would be wrong for the written file, and Pillow before 10.1 cannot
# even serialise multi-strip ones.
_LAYOUT_TAGS = (0x0100, 0x0101, 0x0102, 0x0103, 0x0106, 0x0111, 0x0115, 0x0116, 0x0117, 0x011C,
                0x0140, 0x0142, 0x0143, 0x0144, 0x0145, 0x0152, 0x0153)


def read_exif(data: bytes) -> Any:
    """The EXIF of any image bytes (JPEG, TIFF, or a RAW, which Pillow cannot open) as a Pillow
    ``Image.Exif``, read without decoding the pixels; None when the file has none or is no image."""
    from PIL import Image, UnidentifiedImageError

    exif = raw_exif(data)
    if exif is not None:
        return exif
    try:
        # EXIF only, no pixels: Pillow's decompression-bomb warning and error are for a decode not done here
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                return im.getexif()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        return None


def _exif_bytes(source: bytes | None, note: str) -> bytes:
    """EXIF of ``source`` (any image bytes) with ``note`` as ImageDescription and tether as Software."""
    from PIL import Image

    exif = (read_exif(source) if source else None) or Image.Exif()
    for tag in _LAYOUT_TAGS:
        exif.pop(tag, None)
    if not note and not len(exif):
        return b""
    if note:
        exif[0x010E] = note       # ImageDescription
        exif[0x0131] = "tether"   # Software
    return exif.tobytes()


def write_image(path: Path | str, image: np.ndarray, *, exif_from: bytes | None = None, note: str = "") -> Path:
    """Encode and write ``image`` atomically; the format follows the suffix (see :func:`encode_image`)."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise ImagingError(f"{path.parent}: no such folder")
    return write_atomic_with(path, _encoder(image, path.suffix, exif_from=exif_from, note=note))
