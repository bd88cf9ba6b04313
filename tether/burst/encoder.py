"""Feeding frames to ffmpeg for an H.264 MP4, with ffmpeg's exit checked and its messages kept to itself.

imageio-ffmpeg's ``write_frames`` ignores ffmpeg's exit code and lets ffmpeg print to the user's terminal, so a
movie cut short by a full disk passed as finished. Here ffmpeg's failure is an ``OSError`` (its errno read back
from ffmpeg's message when it names one) that the caller turns into tether's one line for the output file.
"""
from __future__ import annotations

import ctypes
import errno
import functools
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from fractions import Fraction
from pathlib import Path
from typing import IO

#: ffmpeg prints a failed write as the C library's text for it: these are told apart by that text.
_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EACCES, errno.EPERM, errno.EROFS, errno.EIO)

_PR_SET_PDEATHSIG = 1


def _dying_with_parent() -> Callable[[], object] | None:
    """What ffmpeg's process runs before it starts (Linux): a server killed with -9 takes its encoder with it,
    instead of leaving it writing a movie no one will keep. (The signal follows the thread that started ffmpeg,
    which waits for it to end.) Looked up here, in the parent: the child only calls it."""
    if not sys.platform.startswith("linux"):
        return None
    return functools.partial(ctypes.CDLL(None).prctl, _PR_SET_PDEATHSIG, signal.SIGKILL)


@contextmanager
def h264_writer(path: Path, size: tuple[int, int], fps: float) -> Iterator[Callable[[bytes], None]]:
    """Yield ``send(bgr24_frame_bytes)``; on leaving, ffmpeg finishes ``path`` and must exit with 0, else
    ``OSError``. Leaving with an exception stops ffmpeg without waiting for the movie."""
    import imageio_ffmpeg

    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
        "-s", f"{size[0]}x{size[1]}", "-r", str(Fraction(fps).limit_denominator()), "-i", "-", "-an",
        "-vcodec", "libx264", "-pix_fmt", "yuv420p", "-crf", "20", "-movflags", "+faststart",
        "-v", "error", "-f", "mp4", str(path),
    ]
    with tempfile.TemporaryFile() as log:  # a file, not a pipe: a chatty ffmpeg can never block on it
        # its own session: a Ctrl-C is the CLI's to handle (it stops ffmpeg), not a failed encoder
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log,
                                start_new_session=True, preexec_fn=_dying_with_parent())
        assert proc.stdin is not None
        stdin = proc.stdin

        def send(frame: bytes) -> None:
            try:
                stdin.write(frame)
            except BrokenPipeError:  # ffmpeg stopped: its exit says why
                proc.wait()
                raise _failure(proc.returncode, log) from None

        try:
            yield send
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            with suppress(BrokenPipeError):
                stdin.close()
        if proc.wait() != 0:
            raise _failure(proc.returncode, log)


def _failure(code: int, log: IO[bytes]) -> OSError:
    """ffmpeg's failure as an ``OSError``: the errno its messages name, else EIO with its last message."""
    if code == -signal.SIGXFSZ:  # past the file size limit (RLIMIT_FSIZE): ffmpeg had no time to say so
        return OSError(errno.EFBIG, os.strerror(errno.EFBIG))
    log.seek(0)
    lines = log.read().decode(errors="replace").strip().splitlines()
    said = " ".join(lines)
    for number in _ERRNOS:
        if os.strerror(number) in said:
            return OSError(number, os.strerror(number))
    last = lines[-1].strip() if lines else f"exit code {code}"
    return OSError(errno.EIO, f"the movie encoder failed: {last}")


__all__ = ["h264_writer"]
