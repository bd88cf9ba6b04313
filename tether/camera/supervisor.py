"""libgphoto2 cameras in supervised child processes; the parent holds a proxy with deadlines.

A crash (any signal) or a hang past the deadline costs the call in flight: it ends in DriverCrashed
naming the libgphoto2 version and the operation, the child is replaced, and the same camera (same
model and serial) is re-opened with backoff. State changes go to subscribed listeners.
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.camera import errors as camera_errors
from tether.camera import rpc
from tether.camera.base import Camera, Progress
from tether.camera.drivers import driver_for
from tether.camera.errors import CameraDisconnected, CameraError, CameraNotFound, DriverCrashed, Unsupported
from tether.camera.ids import DEFAULT_PTPIP_PORT, CameraId, parse_camera_id, ptpip_answers
from tether.camera.types import CameraInfo, CapturedFile, FocusDirection, Frame, MovieFile, Setting, StepClass
from tether.config import ConfigError, Settings

log = logging.getLogger(__name__)
child_log = logging.getLogger("tether.camera.child")

#: Where `tether virtual-camera` listens with its defaults.
LOCAL_PTPIP = parse_camera_id(f"ptpip:127.0.0.1:{DEFAULT_PTPIP_PORT}")
#: Seconds between re-open attempts after a crash.
BACKOFF = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
#: Operations allowed longer than one call timeout (opening, detecting, capturing).
TIMEOUT_FACTOR = {"open": 2.0, "detect": 3.0, "capture_still": 3.0, "settings": 2.0}
#: Opening and detecting walk the whole config tree: never allow them less than this (seconds).
TIMEOUT_FLOOR = {"open": 15.0, "detect": 30.0}


def deadline_for(op: str, call_timeout: float) -> float:
    """Seconds ``op`` may take in the child before it is declared hung."""
    return max(call_timeout * TIMEOUT_FACTOR.get(op, 1.0), TIMEOUT_FLOOR.get(op, 0.0))
DOING = {
    "open": "opening the camera", "detect": "looking for cameras", "settings": "reading the settings",
    "set_setting": "writing a setting", "live_view_frame": "reading a live-view frame",
    "capture_still": "capturing a still", "drive_focus": "driving the focus", "close": "closing the camera",
    "start_movie": "starting a movie", "stop_movie": "stopping and downloading the movie",
}


def system_build_path(settings: Settings) -> Path:
    """Where `make setup-system` puts python-gphoto2 built against the distribution's libgphoto2."""
    if settings.gphoto.system_path:
        return Path(settings.gphoto.system_path).expanduser()
    return Path(__file__).resolve().parents[2] / ".gphoto2-system"


def resolve_library(settings: Settings) -> tuple[str, Path | None]:
    """("wheel", None) or ("system", path); $TETHER_GPHOTO2 (set by `make serve GPHOTO2=...`) wins over config."""
    choice = os.environ.get("TETHER_GPHOTO2") or settings.gphoto.library
    if choice not in ("auto", "wheel", "system"):
        raise ConfigError(f"TETHER_GPHOTO2={choice!r}: allowed values are 'auto', 'wheel', 'system'")
    path = system_build_path(settings)
    built = (path / "gphoto2" / "__init__.py").is_file()
    if choice == "system" and not built:
        raise ConfigError(
            f"the system libgphoto2 build is missing ({path})",
            hint="run `make setup-system` (needs libgphoto2-dev and pkg-config)",
        )
    if choice == "system" or (choice == "auto" and built):
        return "system", path
    return "wheel", None


@dataclass(frozen=True)
class CameraState:
    """A state change of a supervised camera: open, crashed, disconnected, reconnecting, failed, closed."""

    camera_id: str
    state: str
    message: str = ""
    time: float = field(default_factory=time.time)


def _child_environment() -> dict[str, str]:
    """This process's environment without the camlib/iolib paths python-gphoto2 sets when imported.

    The wheel's gphoto2/__init__ points CAMLIBS and IOLIBS at its own libgphoto2 2.5.34 drivers; a
    child running the system build would inherit them and load 2.5.34's ptp2 driver into 2.5.30
    (crashing on the very focus drive the system build exists for).
    """
    env = dict(os.environ)
    marker = os.sep + os.path.join("gphoto2", "libgphoto2") + os.sep
    for key in ("CAMLIBS", "IOLIBS"):
        if marker in env.get(key, "") + os.sep:
            del env[key]
    return env


def _pipe() -> tuple[int, int]:
    """os.pipe() with both ends above the standard streams.

    libgphoto2's PTP/IP teardown can close fd 0 (an unset socket field is 0); if a process used
    gphoto2 in-process (benchmarks do), a new pipe could land on fd 0 and Popen would replace it
    with the child's stdin.
    """
    ends = []
    for fd in os.pipe():
        if fd < 3:
            moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
            os.close(fd)
            fd = moved
        ends.append(fd)
    return ends[0], ends[1]


class ChildProcess:
    """One libgphoto2 child: start it, call it with a deadline, stop it."""

    def __init__(self, settings: Settings, *, simulated: bool = False) -> None:
        self.library, path = ("simulated", None) if simulated else resolve_library(settings)
        self.timeout = settings.gphoto.call_timeout
        env = _child_environment()
        env["TETHER_GPHOTO_BREADCRUMBS"] = "1"
        env["TETHER_CHILD_SIMULATED"] = "1" if simulated else "0"
        if settings.gphoto.debug:
            env["TETHER_GPHOTO_DEBUG"] = "1"
        if path is not None:
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(path), env.get("PYTHONPATH", "")) if p)
        to_child_r, to_child_w = _pipe()
        from_child_r, from_child_w = _pipe()
        self.stderr_tail: deque[str] = deque(maxlen=40)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tether.camera.child", str(to_child_r), str(from_child_w)],
            pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, env=env, start_new_session=True,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._w, self._r = to_child_w, from_child_r
        self._stderr_thread = threading.Thread(target=self._drain_stderr, name="gphoto-child-stderr", daemon=True)
        self._stderr_thread.start()
        self.version = "?"
        hello = self._receive("starting libgphoto2", max(self.timeout, 30.0))[1]
        self.version = hello["version"]
        self.origin = hello["origin"]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            self.stderr_tail.append(line)
            if not line.startswith("tether-breadcrumb"):
                child_log.debug("%s", line)

    def reading_widget(self) -> str:
        """The widget the child was reading when it died ("" when it had finished), from its breadcrumbs."""
        self._stderr_thread.join(timeout=2.0)  # a dead child's last lines may still be in the pipe
        for line in reversed(self.stderr_tail):
            if line.startswith("tether-breadcrumb "):
                return line.split("=", 1)[1] if "widget=" in line else ""
        return ""

    def call(self, op: str, *args: Any, doing: str = "", timeout: float | None = None,
             progress: Progress | None = None) -> Any:
        """Run ``op`` in the child; its errors come back as the same CameraError classes.

        ``progress`` receives the child's progress messages; each one restarts the deadline, so a long
        download is judged hung only when it stops moving.
        """
        doing = doing or DOING.get(op, op)
        try:
            rpc.send(self._w, (op, args))
        except OSError:
            raise self._died(doing) from None
        reply = self._receive(doing, timeout or deadline_for(op, self.timeout))
        while reply[0] == "progress":
            if progress is not None:
                progress(reply[1], reply[2])
            reply = self._receive(doing, timeout or deadline_for(op, self.timeout))
        if reply[0] == "ok":
            return reply[1]
        _, name, message, hint = reply
        cls = getattr(camera_errors, name, CameraError)
        if not (isinstance(cls, type) and issubclass(cls, CameraError)):
            cls = CameraError
        raise cls(message, hint=hint)

    def _receive(self, doing: str, timeout: float) -> Any:
        try:
            return rpc.receive(self._r, timeout)
        except rpc.Deadline:
            self.kill()
            raise DriverCrashed(
                f"libgphoto2 {self.version} did not answer within {timeout:g} s while {doing}; "
                "its process was stopped",
                hint="tether is re-opening the camera",
            ) from None
        except rpc.PipeClosed:
            raise self._died(doing) from None

    def _died(self, doing: str) -> DriverCrashed:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.returncode
        if code is not None and code < 0:
            how = f"was killed by {signal.Signals(-code).name}"
        else:
            how = f"exited with status {code}"
        detail = next((line for line in reversed(self.stderr_tail) if line and "breadcrumb" not in line), "")
        return DriverCrashed(
            f"the libgphoto2 {self.version} driver process {how} while {doing}",
            hint="tether is re-opening the camera" + (f"; its last words: {detail}" if detail else ""),
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        """Ask the child to close its camera and exit; kill it if it does not."""
        if self.proc.poll() is None:
            try:
                rpc.send(self._w, ("exit", ()))
                rpc.receive(self._r, 3.0)
                self.proc.wait(timeout=3.0)
            except (OSError, rpc.Deadline, rpc.PipeClosed, subprocess.TimeoutExpired):
                self.kill()
        for fd in (self._w, self._r):
            with contextlib.suppress(OSError):
                os.close(fd)


class SupervisedCamera(Camera):
    """The Camera interface in the server process; libgphoto2 runs in a child it restarts on crashes."""

    def __init__(self, camera_id: CameraId, settings: Settings) -> None:
        self.camera_id = camera_id
        self.settings_ = settings
        self.state = "closed"
        self._child: ChildProcess | None = None
        self._info: CameraInfo | None = None
        self._lock = threading.RLock()
        self._closing = threading.Event()
        self._restarter: threading.Thread | None = None
        self._listeners: list[Callable[[CameraState], None]] = []
        self._skip_widgets: set[str] = set()
        self._lost_reason = ""

    # -- state and listeners ---------------------------------------------------------------------

    def subscribe(self, listener: Callable[[CameraState], None]) -> Callable[[], None]:
        """Call ``listener`` on every state change; returns a function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _set_state(self, state: str, message: str = "") -> None:
        if self._closing.is_set() and state != "closed":
            return  # a re-open racing close() must not report the camera as coming back
        self.state = state
        event = CameraState(str(self._info.id if self._info else self.camera_id), state, message)
        log.info("camera %s: %s %s", event.camera_id, state, message)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not stop the supervisor
                log.exception("camera state listener failed")

    @property
    def child_pid(self) -> int | None:
        child = self._child
        return child.pid if child else None

    @property
    def library_version(self) -> str:
        return self._child.version if self._child else ""

    @property
    def info(self) -> CameraInfo:
        if self._info is None:
            raise CameraDisconnected(f"camera {self.camera_id} is not open")
        return self._info

    # -- lifecycle -------------------------------------------------------------------------------

    def _open_args(self, camera_id: str) -> tuple[str, Settings, tuple[str, ...]]:
        return camera_id, self.settings_, tuple(sorted(self._skip_widgets))

    def _spawn(self) -> ChildProcess:
        return ChildProcess(self.settings_, simulated=driver_for(self.camera_id).simulated)

    def open(self) -> None:
        with self._lock:
            if self._child is not None:
                return
            self._closing.clear()
            child = self._spawn()
            try:
                self._info = child.call("open", *self._open_args(str(self.camera_id)))
            except BaseException:
                self._learn_from(child)
                child.stop()
                raise
            self._child = child
        self._set_state("open", f"libgphoto2 {child.version} ({child.library})")

    def close(self) -> None:
        self._closing.set()
        with self._lock:
            child, self._child = self._child, None
        if child is not None:
            child.stop()
        if self.state != "closed":
            self._set_state("closed")

    def _call(self, method: str, *args: Any, progress: Progress | None = None) -> Any:
        with self._lock:
            child = self._child
            if child is None:
                if self.state in ("crashed", "disconnected", "reconnecting"):
                    raise CameraDisconnected(
                        f"{self._label()} is being re-opened after it went away ({self._lost_reason})",
                        hint="try again in a moment",
                    )
                raise CameraDisconnected(f"{self._label()} is not open")
            try:
                if progress is not None:
                    return child.call("call_with_progress", method, *args, doing=DOING.get(method, method),
                                      timeout=deadline_for(method, child.timeout), progress=progress)
                return child.call("call", method, *args, doing=DOING.get(method, method),
                                  timeout=deadline_for(method, child.timeout))
            except Unsupported:
                self._info = child.call("info")  # the driver may have learned a capability is missing
                raise
            except DriverCrashed as exc:
                self._child = None
                self._learn_from(child)
                child.kill()
                self._lost("crashed", exc)
                raise
            except CameraDisconnected as exc:  # unplugged or switched off: wait for it to come back
                self._child = None
                child.stop()
                self._lost("disconnected", exc)
                raise

    def _learn_from(self, child: ChildProcess) -> None:
        """After a segfault while reading a widget (python-gphoto2 crashes on a NULL text value), skip that widget."""
        code = child.proc.poll()
        if code in (-signal.SIGSEGV, -signal.SIGBUS) and child.reading_widget():
            log.warning("libgphoto2 crashed reading widget %r; it will not be read again", child.reading_widget())
            self._skip_widgets.add(child.reading_widget())

    def _label(self) -> str:
        return f"{self._info.model} ({self._info.id})" if self._info else str(self.camera_id)

    def _lost(self, state: str, exc: CameraError) -> None:
        """The camera went away (driver crash or disconnect): publish it and start re-opening."""
        self._lost_reason = "driver crash" if state == "crashed" else "disconnected"
        self._set_state(state, str(exc))
        if not self._closing.is_set() and not (self._restarter and self._restarter.is_alive()):
            self._restarter = threading.Thread(target=self._reopen, name="gphoto-reopen", daemon=True)
            self._restarter.start()

    def _reopen(self) -> None:
        """Start a new child and open the same camera (same model and serial), backing off between tries."""
        for attempt, delay in enumerate(BACKOFF, 1):
            if self._closing.wait(delay):
                return
            self._set_state("reconnecting", f"attempt {attempt}")
            child = None
            try:
                child = self._spawn()
                info = self._open_same(child)
            except CameraError as exc:
                log.info("re-opening %s failed: %s", self._label(), exc)
                if child is not None:
                    self._learn_from(child)
                    child.stop()
                continue
            with self._lock:
                if self._closing.is_set():
                    child.stop()
                    return
                self._child, self._info = child, info
            self._set_state("open", f"re-opened after a {self._lost_reason} (libgphoto2 {child.version})")
            return
        self._set_state("failed", f"gave up re-opening {self._label()} after {len(BACKOFF)} attempts")

    def _open_same(self, child: ChildProcess) -> CameraInfo:
        known = self._info
        try:
            info = child.call("open", *self._open_args(known.id if known else str(self.camera_id)))
        except CameraNotFound:
            if known is None or self.camera_id.scheme != "usb":
                raise
            # A re-plugged USB camera comes back at a new address: find it by model and serial.
            for candidate in child.call("detect", []):
                if candidate.model == known.model and candidate.serial == known.serial:
                    return child.call("open", *self._open_args(candidate.id))
            raise
        if known and known.serial and info.serial and info.serial != known.serial:
            child.call("close")
            raise CameraNotFound(f"{known.id} is now a different camera (serial {info.serial}, was {known.serial})")
        return info

    # -- the camera interface ----------------------------------------------------------------------

    def settings(self) -> list[Setting]:
        return self._call("settings")

    def set_setting(self, name: str, value: Any) -> Setting:
        return self._call("set_setting", name, value)

    def live_view_frame(self) -> Frame:
        return self._call("live_view_frame")

    def capture_still(self) -> CapturedFile:
        return self._call("capture_still")

    def drive_focus(self, direction: FocusDirection, step: StepClass, count: int = 1) -> None:
        self._call("drive_focus", direction, step, count)

    def start_movie(self) -> float:
        return self._call("start_movie")

    def stop_movie(self, dest: str, progress: Progress | None = None) -> MovieFile:
        return self._call("stop_movie", dest, progress=progress or (lambda done, total: None))


def ptpip_ids(settings: Settings, extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Configured PTP/IP ids plus ``extra``; the local default port is added when something listens there."""
    ids: list[str] = []
    for text in [*settings.camera.ptpip, *extra]:
        text = text if text.startswith("ptpip:") else f"ptpip:{text}"
        parse_camera_id(text)
        if text not in ids:
            ids.append(text)
    if str(LOCAL_PTPIP) not in ids and ptpip_answers(LOCAL_PTPIP):
        ids.append(str(LOCAL_PTPIP))
    return ids


def detect_cameras(settings: Settings, extra_ptpip: list[str] | tuple[str, ...] = ()) -> list[CameraInfo]:
    """USB cameras and answering PTP/IP cameras, found by a short-lived libgphoto2 child."""
    child = ChildProcess(settings)
    try:
        return child.call("detect", ptpip_ids(settings, extra_ptpip))
    finally:
        child.stop()


def open_supervised(camera_id: CameraId, settings: Settings) -> SupervisedCamera:
    """An unopened supervised camera: ``usb:`` and ``ptpip:`` ids through libgphoto2; a ``sim`` id runs the
    simulated camera in the child (the registry keeps sim in-process; this is for exercising the supervisor)."""
    return SupervisedCamera(camera_id, settings)
