"""Pass 1 beside the capture: the focus index (and a small live stack) built while the frames arrive.

The camera thread hands each frame's bytes to :meth:`LiveAnalysis.offer`, which never waits: a
worker thread decodes the frame at the size pass 1 reads (:class:`~tether.imaging.analysis.FocusIndexBuilder`)
and feeds the builder, so when the sweep ends only the frames it has not reached are left to analyse
(none when it keeps up with the camera), and the Refocus page needs no "Preparing refocus".

Memory stays bounded whatever the camera outruns: at most :data:`HOLD` frames' bytes wait in memory;
past that only a frame's number waits, and its bytes are read back from the burst (``reread``) when
their turn comes. Without ``reread`` (an import, which may wait) ``offer`` waits for room instead.
The worker runs at the lowest CPU priority, so it never slows the capture; what it has not reached
when the capture ends is analysed by :meth:`LiveAnalysis.finish` in the caller's thread, at the
caller's priority.

A frame that is corrupt is skipped, as the burst's frame source skips it; anything the analysis
cannot do (frames of two sizes, a frame that does not decode) stops it
quietly: :meth:`LiveAnalysis.finish` then answers None and the index is computed when first asked
for, as for any burst.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from tether.burst import decode_frame, keep_derived, open_burst
from tether.burst.importer import import_images
from tether.imagebytes import image_size
from tether.imaging import FOCUS_INDEX_NAME
from tether.imaging.analysis import FocusIndexBuilder
from tether.imaging.io import check_frame_files
from tether.imaging.live_stack import LiveStack
from tether.imaging.rawfile import decode_raw, is_raw, raw_size
from tether.imaging.refocus import FocusIndex
from tether.numbering import frame_number

log = logging.getLogger(__name__)

#: Frames whose bytes may wait in memory for the worker (a 1080p JPEG is 0.3-0.6 MB, a 24 MP one 10 MB).
HOLD = 8
#: Seconds between two live stack previews: a modest rate for the browser, and little work here.
PREVIEW_INTERVAL = 0.5
#: JPEG quality of the live stack preview.
PREVIEW_QUALITY = 80

#: The burst's derived item holding the stack preview as the analysis left it (all the frames in), for a page
#: that shows the sweep again after a reload.
STACK_PREVIEW_NAME = "stack-preview.jpg"

#: ``on_preview(jpeg bytes, frames in it)``
PreviewSink = Callable[[bytes, int], None]


class LiveAnalysis:
    """A worker thread that runs pass 1 over the frames offered, in order.

    ``reread(n)`` gives the bytes of the ``n``-th frame offered again (from the burst); ``on_preview``,
    when given, gets the live stack as JPEG at most every ``preview_interval`` seconds, and once more
    when the last frame is in; :meth:`keep` keeps that last one in the burst (:data:`STACK_PREVIEW_NAME`).
    """

    def __init__(self, *, reread: Callable[[int], bytes] | None = None, on_preview: PreviewSink | None = None,
                 hold: int = HOLD, preview_interval: float = PREVIEW_INTERVAL) -> None:
        self._reread = reread
        self._on_preview = on_preview
        self._hold = hold
        self._preview_interval = preview_interval
        self._cond = threading.Condition()
        #: (offered number, bytes or None when they are to be read back, corrupt)
        self._waiting: deque[tuple[int, bytes | None, bool]] = deque()
        self._held = 0
        self._offered = 0
        self._done = 0
        self._closed = False
        self._stopped = False
        self.failure: str | None = None
        self._builder: FocusIndexBuilder | None = None
        self._stack: LiveStack | None = None
        self._last_preview = 0.0
        #: The stack preview of every frame, as :meth:`finish` sent it (what :meth:`keep` keeps).
        self.final_preview: bytes | None = None
        self._thread = threading.Thread(target=self._run, name="live-analysis", daemon=True)
        self._thread.start()

    def offer(self, data: bytes, *, corrupt: bool = False) -> None:
        """Hand over the next frame's bytes (``corrupt``: the camera sent it damaged; it is skipped)."""
        with self._cond:
            if self._reread is None:
                self._cond.wait_for(lambda: self._held < self._hold or self._stopped)
            if self._stopped:  # nothing more will be analysed: hold nothing
                return
            keep = self._held < self._hold or self._reread is None
            self._waiting.append((self._offered, data if keep else None, corrupt))
            self._held += keep
            self._offered += 1
            self._cond.notify_all()

    def keep(self, path: Path, *, progress: Callable[[int, int], None] | None = None) -> bool:
        """:meth:`finish`, and keep the focus index and the stack preview in the burst at ``path``; False (logged
        why) when the index is not kept."""
        index = self.finish(progress=progress)
        if index is None:
            return False
        items = {FOCUS_INDEX_NAME: index.to_bytes()}
        if self.final_preview is not None:
            items[STACK_PREVIEW_NAME] = self.final_preview
        reason = keep_derived(path, items, what="the focus index")  # (and the stack preview with it)
        if reason:
            log.warning("%s: %s", path, reason)
        return reason is None

    def finish(self, *, progress: Callable[[int, int], None] | None = None) -> FocusIndex | None:
        """The index of every frame offered, or None when the analysis stopped (the reason is in :attr:`failure`).

        The worker ends with the frame it is on; what it had not reached is analysed here, in the calling
        thread and at its priority (nothing is captured any more: catching up is all there is to do), with
        ``progress(done, total)`` before each frame. The last live stack preview is sent before this returns."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join()
        while self.failure is None:
            with self._cond:
                if not self._waiting:
                    break
                item = self._take()
            if progress is not None:
                progress(self._done, self._offered)
            self._step(item)
        if self.failure is not None:
            log.info("the focus index was not built during capture: %s", self.failure)
            return None
        builder, self._builder = self._builder, None
        if builder is None or not len(builder):
            return None
        try:
            self.final_preview = self._preview_jpeg()
            self._send(self.final_preview)
            return builder.finish()
        except Exception as exc:  # the sweep's frames are what matters: the index is computed when asked for
            log.warning("the focus index built during capture could not be finished: %s", exc)
            self.failure = str(exc)
            return None

    def abandon(self) -> None:
        """Stop the worker without a result (the sweep was cancelled or failed); nothing once finished."""
        with self._cond:
            self._stop("abandoned")
            self._closed = True
        self._thread.join()

    def _stop(self, why: str) -> None:
        if self.failure is None:
            self.failure = why
        self._stopped = True
        self._waiting.clear()
        self._held = 0
        self._cond.notify_all()

    def _take(self) -> tuple[int, bytes | None, bool]:
        """The next frame waiting (the lock held)."""
        item = self._waiting.popleft()
        self._held -= item[1] is not None
        self._cond.notify_all()
        return item

    def _run(self) -> None:
        _yield_to_capture()
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._waiting or self._closed or self._stopped)
                if self._stopped or self._closed:
                    return  # finish() takes over what is left
                item = self._take()
            self._step(item)

    def _step(self, item: tuple[int, bytes | None, bool]) -> None:
        number, data, corrupt = item
        try:
            if not corrupt:
                self._analyse(number, data)
        except Exception as exc:  # the index is then computed on demand, as for any burst
            with self._cond:
                self._stop(f"frame {frame_number(number)}: {exc}")
            return
        with self._cond:
            self._done += 1

    def _analyse(self, number: int, data: bytes | None) -> None:
        if data is None:
            assert self._reread is not None
            data = self._reread(number)
        what, raw = f"frame {frame_number(number)}", is_raw(data)
        if self._builder is None:
            height, width = raw_size(data, what) if raw else image_size(data)[::-1]
            if not width:
                raise ValueError("not an image whose size can be read")
            self._builder = FocusIndexBuilder((height, width))
            self._stack = LiveStack((height, width))
        # a RAW is developed as the stack will develop it (OpenCV would read a DNG's TIFF preview, or nothing)
        frame = (decode_raw(data, what, reduce=self._builder.read_reduce) if raw
                 else decode_frame(data, reduce=self._builder.read_reduce, what=what))
        del data
        if frame is None:
            raise ValueError("it does not decode")
        found = self._builder.add(frame)
        if self._stack is not None:
            self._stack.add(frame, found)
            if time.monotonic() - self._last_preview >= self._preview_interval:
                self._publish()

    def _publish(self) -> None:
        if self._on_preview is None:
            return
        self._last_preview = time.monotonic()
        self._send(self._preview_jpeg())

    def _send(self, jpeg: bytes | None) -> None:
        if jpeg is not None and self._on_preview is not None and self._stack is not None:
            self._on_preview(jpeg, self._stack.frames)

    def _preview_jpeg(self) -> bytes | None:
        """The live stack so far as JPEG; None before its first frame."""
        if self._stack is None or not self._stack.frames:
            return None
        ok, jpeg = cv2.imencode(".jpg", self._stack.image(), [cv2.IMWRITE_JPEG_QUALITY, PREVIEW_QUALITY])
        return np.asarray(jpeg).tobytes() if ok else None


def analyse_burst(path: Path) -> bool:
    """Pass 1 over the frames of the closed burst at ``path`` (a merge's), its focus index and stack preview
    kept in it; False when the index could not be made (it is then computed when first asked for)."""
    analysis = LiveAnalysis()
    with open_burst(path) as reader:
        for i, meta in enumerate(reader.frames_meta()):
            analysis.offer(reader.frame_bytes(i), corrupt=meta.corrupt)
    return analysis.keep(path)


def _yield_to_capture() -> None:
    """Run the calling thread at the lowest CPU priority, where the system allows it (Linux gives each thread
    its own nice value): the camera's thread and the burst's writes then always go first, and the analysis
    takes what they leave, which on a busy machine means catching up after the sweep rather than slowing it."""
    # A thread inherits its creator's nice value, and OpenCV makes its worker pool on the first call that runs
    # in parallel: that pool, shared by the whole process (the stacks included), must not be made here once
    # the priority is lowered. A blur this large runs in parallel; where the pool exists it costs a millisecond.
    cv2.GaussianBlur(np.zeros((1024, 1024), np.float32), (0, 0), 2.0)
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):  # another system, or not allowed: the analysis competes as it is
        log.debug("the live analysis runs at normal priority")


@contextmanager
def capture_first() -> Iterator[None]:
    """While capturing, OpenCV in this process runs on one thread; after, on as many as before.

    The analysis thread's own priority is the lowest (:func:`_yield_to_capture`), but OpenCV hands the
    parallel parts of its calls to a pool shared by the whole process, whose threads run at normal
    priority: through them the analysis took the second core from the camera (measured: the 1080p
    sweep's capture rate fell to 84-98 % of the camera's). Single-threaded, the analysis takes only what
    the capture leaves; what it has not reached when the capture ends, it catches up with both cores."""
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(threads)


def import_analysed(paths: Iterable[Path | str], out: Path | str) -> Path:
    """``tether burst import`` with pass 1 beside it: the new burst, with its focus index unless that failed.

    An import has no camera to keep up with: it waits for the analysis when it is ahead by :data:`HOLD` images."""
    analysis = LiveAnalysis()
    try:
        path = import_images(paths, out, check_frames=check_frame_files,
                             on_frame=lambda data, meta: analysis.offer(data, corrupt=meta.corrupt))
    except BaseException:
        analysis.abandon()
        raise
    analysis.keep(Path(path))
    return path
