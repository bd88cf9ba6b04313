"""libgphoto2 cameras over python-gphoto2 (with its gphoto_* helpers, the only code that uses gphoto2).

It runs inside the supervised child process (tether.camera.child); the server talks to it
through tether.camera.supervisor, so a crash or hang in libgphoto2 never takes the server down.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from typing import Any

from tether.camera import gphoto_defects, gphoto_focus
from tether.camera import gphoto_widgets as widgets
from tether.camera.base import Camera, Progress
from tether.camera.errors import (
    CameraBusy,
    CameraDisconnected,
    CameraError,
    CameraNotFound,
    CorruptFrame,
    InvalidValue,
    Unsupported,
)
from tether.camera.gphoto_lib import gp, library_version
from tether.camera.ids import CameraId, parse_camera_id, ptpip_answers
from tether.camera.types import (
    CameraInfo,
    Capabilities,
    CapturedFile,
    FocusDirection,
    Frame,
    MovieFile,
    Setting,
    StepClass,
)
from tether.imagebytes import image_size

log = logging.getLogger(__name__)


PTPIP_ABILITIES = "PTP/IP Camera"
#: libgphoto2's movie toggle (Panasonic MovieRecControl, Nikon, Sony and generic PTP open capture).
MOVIE_WIDGET = "movie"
#: Seconds a camera may take to write its movie to the card after recording stops.
MOVIE_FILE_WAIT = 120.0
#: Bytes per read while downloading a movie: memory stays bounded whatever its length.
MOVIE_CHUNK = 1 << 20
GENERIC_ABILITIES = frozenset({PTPIP_ABILITIES, "USB PTP Class Camera", "MTP Device"})


def libgphoto2_port_path(camera_id: CameraId) -> str:
    """The libgphoto2 port string; for PTP/IP the event port is named, since libgphoto2 defaults it to 15740."""
    if camera_id.scheme != "ptpip":
        return camera_id.without_options
    return f"ptpip:{camera_id.host}:{camera_id.port}:{camera_id.event_port}"


def translate_error(exc: Exception, doing: str) -> CameraError:
    """Turn a GPhoto2Error into a camera error a photographer can act on."""
    code = getattr(exc, "code", None)
    text = str(exc)
    if code == gp.GP_ERROR_IO_USB_CLAIM:
        return CameraBusy(
            f"Could not claim the USB device while {doing}: another program holds the camera",
            hint="usually the desktop's gvfs volume monitor or a file manager; close it or run "
            "`gio mount -s gphoto2` (or stop gvfs-gphoto2-volume-monitor), then try again",
        )
    if code in (gp.GP_ERROR_CAMERA_BUSY, gp.GP_ERROR_IO_LOCK):
        return CameraBusy(f"the camera is busy ({doing}); try again in a moment", hint=text)
    if code in (gp.GP_ERROR_IO_USB_FIND, gp.GP_ERROR_MODEL_NOT_FOUND, gp.GP_ERROR_UNKNOWN_PORT):
        return CameraNotFound(f"no camera answers ({doing})",
                              hint="is it switched on, connected, and in PC/tether mode?")
    if code in (gp.GP_ERROR_IO, gp.GP_ERROR_IO_READ, gp.GP_ERROR_IO_WRITE, gp.GP_ERROR_TIMEOUT, gp.GP_ERROR_IO_INIT):
        return CameraDisconnected(
            f"the camera stopped answering while {doing}", hint=f"libgphoto2 said: {text}; check the cable or network",
        )
    if code == gp.GP_ERROR_NOT_SUPPORTED:
        return Unsupported(f"the camera does not support {doing}", hint=text)
    if code == gp.GP_ERROR_BAD_PARAMETERS:
        return InvalidValue(f"the camera refused the value while {doing}", hint=text)
    return CameraError(f"libgphoto2 failed while {doing}: {text}")


def _list_pairs(camera_list: Any) -> list[tuple[str, str]]:
    return [(camera_list.get_name(i), camera_list.get_value(i)) for i in range(camera_list.count())]


def detect(ptpip_ids: list[str]) -> list[CameraInfo]:
    """USB cameras from autodetect, plus the given PTP/IP ids that answer; each opened once for its identity."""
    found: list[CameraInfo] = []
    try:
        usb = _list_pairs(gp.Camera.autodetect())
    except gp.GPhoto2Error as exc:
        log.warning("USB autodetect failed: %s", exc)
        usb = []
    ids = [port for _, port in usb if port.startswith("usb:")] + list(ptpip_ids)
    for text in ids:
        camera_id = parse_camera_id(text)
        if camera_id.scheme == "ptpip" and not ptpip_answers(camera_id):
            log.info("PTP/IP camera %s does not answer; not listed", text)
            continue
        camera = GphotoCamera(camera_id)
        try:
            camera.open()
            found.append(camera.info)
        except CameraError as exc:
            model = next((name for name, port in usb if port == text), "camera")
            log.warning("%s (%s) could not be opened: %s", text, model, exc)
            found.append(CameraInfo(id=text, model=model, capabilities=Capabilities(focus_drive_note=str(exc))))
        finally:
            camera.close()
    return found


class GphotoCamera(Camera):
    """One libgphoto2 camera, in this process. Use it through the supervisor, not directly, in the server."""

    def __init__(self, camera_id: CameraId, *, delete_from_card: bool = False, skip_widgets: tuple[str, ...] = ()):
        self.camera_id = camera_id
        self.delete_from_card = delete_from_card
        #: Widgets never read (e.g. a text widget whose NULL value crashed python-gphoto2 before).
        self.skip_widgets = set(skip_widgets)
        self._camera: Any = None
        self._info: CameraInfo | None = None
        self._vendor = ""
        self._focus: gphoto_focus.FocusDrive | None = None
        self._blocked: dict[str, gphoto_defects.Defect] = {}
        self._movie_started = 0.0

    @property
    def info(self) -> CameraInfo:
        if self._info is None:
            raise CameraDisconnected(f"camera {self.camera_id} is not open")
        return self._info

    # -- connection -----------------------------------------------------------------------------

    def open(self) -> None:
        if self._camera is not None:
            return
        port_path = libgphoto2_port_path(self.camera_id)
        camera = gp.Camera()
        try:
            abilities = self._abilities(port_path)
            camera.set_abilities(abilities)
            ports = gp.PortInfoList()
            ports.load()
            index = ports.lookup_path(port_path)
            if index < 0:
                raise CameraNotFound(f"libgphoto2 has no port {port_path!r}")
            camera.set_port_info(ports[index])
            camera.init()
        except gp.GPhoto2Error as exc:
            raise translate_error(exc, f"opening {self.camera_id}") from None
        self._camera = camera
        try:
            self._info = self._identify(abilities)
        except BaseException:
            self.close()
            raise

    def _abilities(self, port_path: str) -> Any:
        abilities_list = gp.CameraAbilitiesList()
        abilities_list.load()
        if port_path.startswith("ptpip:"):
            model = PTPIP_ABILITIES
        else:
            detected = dict((port, name) for name, port in _list_pairs(gp.Camera.autodetect()))
            if port_path not in detected:
                raise CameraNotFound(
                    f"no camera at {port_path}",
                    hint="run `tether cameras`; USB addresses change when a camera is re-plugged",
                )
            model = detected[port_path]
        return abilities_list[abilities_list.lookup_model(model)]

    def _identify(self, abilities: Any) -> CameraInfo:
        values = widgets.read_text(
            self._config(), ("manufacturer", "cameramodel", "model", "serialnumber", "lensname"), self.skip_widgets,
        )
        manufacturer = values.get("manufacturer", "")
        model = values.get("cameramodel") or values.get("model") or abilities.model
        if manufacturer and not model.lower().startswith(manufacturer.split()[0].lower()):
            model = f"{manufacturer.split()[0]} {model}"
        if abilities.model not in GENERIC_ABILITIES:
            model = abilities.model  # libgphoto2's own name for a listed USB model ("Panasonic DC-GH5")
        self._vendor = gphoto_focus.vendor_of(manufacturer) or gphoto_focus.vendor_of(model)
        version = library_version()
        for defect in gphoto_defects.defects_for(version, self._vendor or None):
            for widget in defect.widgets:
                self._blocked[widget] = defect
        operations = abilities.operations
        drive = gphoto_focus.FOCUS_DRIVES.get(self._vendor)
        names = self._widget_names()
        note = ""
        if drive is None or drive.widget not in names:
            drive = None
            note = f"libgphoto2 offers no focus drive for {model}"
        elif drive.widget in self._blocked:
            defect = self._blocked[drive.widget]
            note = (f"focus drive is unavailable on libgphoto2 {version}: "
                    f"{defect.summary.format(version=version)}; {defect.fix}")
            drive = None
        self._focus = drive
        caps = Capabilities(
            live_view=bool(operations & gp.GP_OPERATION_CAPTURE_PREVIEW),
            still_capture=bool(operations & gp.GP_OPERATION_CAPTURE_IMAGE),
            focus_drive=drive is not None,
            movie=MOVIE_WIDGET in names and MOVIE_WIDGET not in self._blocked,
            focus_drive_note=note,
        )
        return CameraInfo(
            id=str(self.camera_id), model=model, manufacturer=manufacturer,
            serial=values.get("serialnumber", ""), lens=values.get("lensname", ""), capabilities=caps,
        )

    def close(self) -> None:
        camera, self._camera = self._camera, None
        if camera is not None:
            try:
                camera.exit()
            except gp.GPhoto2Error as exc:
                log.info("closing %s: %s", self.camera_id, exc)

    def _error(self, exc: Exception, doing: str) -> CameraError:
        """translate_error, but a vague failure on a camera that no longer answers is a disconnect."""
        error = translate_error(exc, doing)
        if type(error) is CameraError and not self._still_there():
            return CameraDisconnected(f"the camera went away while {doing}", hint="check the cable, power or network")
        return error

    def _still_there(self) -> bool:
        """Whether the camera still answers where it was: its USB port is listed, or its PTP/IP port accepts."""
        if self.camera_id.scheme == "ptpip":
            return ptpip_answers(self.camera_id)
        port_path = libgphoto2_port_path(self.camera_id)
        try:
            return port_path in (port for _, port in _list_pairs(gp.Camera.autodetect()))
        except gp.GPhoto2Error:
            return False

    def _cam(self) -> Any:
        if self._camera is None:
            raise CameraDisconnected(f"camera {self.camera_id} is not open")
        return self._camera

    # -- settings --------------------------------------------------------------------------------

    def _config(self) -> Any:
        try:
            return self._cam().get_config()
        except gp.GPhoto2Error as exc:
            raise self._error(exc, "reading the settings") from None

    def _widget_names(self) -> set[str]:
        return {w.get_name() for _, w in widgets.leaves(self._config())}

    def settings(self) -> list[Setting]:
        return widgets.describe_all(self._config(), skip=self.skip_widgets, read_only=set(self._blocked))

    def set_setting(self, name: str, value: Any) -> Setting:
        defect = self._blocked.get(name)
        if defect is not None:
            version = library_version()
            raise Unsupported(
                f"writing {name} is unavailable on libgphoto2 {version}: {defect.summary.format(version=version)}",
                hint=defect.fix,
            )
        return super().set_setting(name, value)

    def _write_setting(self, name: str, value: Any) -> None:
        self._write_widget(name, value, f"setting {name}")

    def _write_widget(self, name: str, value: Any, doing: str) -> None:
        # one widget, not the whole tree: a sweep writes the focus drive 30 times a second
        try:
            widget = self._cam().get_single_config(name)
        except gp.GPhoto2Error:
            raise InvalidValue(f"this camera has no setting {name!r}") from None
        try:
            widget.set_value(widgets.coerce(widget, value))
            self._cam().set_single_config(name, widget)
        except gp.GPhoto2Error as exc:
            raise self._error(exc, doing) from None

    # -- pictures --------------------------------------------------------------------------------

    def live_view_frame(self) -> Frame:
        if not self.info.capabilities.live_view:
            raise Unsupported(f"{self.info.model} has no live view through libgphoto2")
        try:
            camera_file = self._cam().capture_preview()
            data = bytes(memoryview(camera_file.get_data_and_size()))
        except gp.GPhoto2Error as exc:
            error = self._error(exc, "reading a live-view frame")
            if isinstance(error, Unsupported):  # the abilities promised more than the body does
                self._info = replace(self.info, capabilities=replace(self.info.capabilities, live_view=False))
            raise error from None
        if data[:2] != b"\xff\xd8":
            raise CorruptFrame(f"{self.info.model} sent a live-view frame that is not a JPEG ({len(data)} bytes)")
        width, height = image_size(data)
        return Frame(data, time.time(), width, height)

    def capture_still(self) -> CapturedFile:
        if not self.info.capabilities.still_capture:
            raise Unsupported(f"{self.info.model} cannot capture stills through libgphoto2")
        camera = self._cam()
        self.drain_events()
        try:
            path = camera.capture(gp.GP_CAPTURE_IMAGE)
            camera_file = camera.file_get(path.folder, path.name, gp.GP_FILE_TYPE_NORMAL)
            data = bytes(memoryview(camera_file.get_data_and_size()))
            mime = camera_file.get_mime_type()
        except gp.GPhoto2Error as exc:
            raise self._error(exc, "capturing a still") from None
        # With capturetarget = internal RAM the file is gone once downloaded; on the card we delete
        # only when asked, so nothing the photographer took is lost by default.
        if self.delete_from_card and self._capture_target_is_card():
            try:
                camera.file_delete(path.folder, path.name)
            except gp.GPhoto2Error as exc:
                log.warning("could not delete %s/%s from the card: %s", path.folder, path.name, exc)
        self.drain_events()
        width, height = image_size(data)
        return CapturedFile(data, path.name, mime or "image/jpeg", time.time(), width, height)

    def _capture_target_is_card(self) -> bool:
        for _, widget in widgets.leaves(self._config()):
            if widget.get_name() == "capturetarget":
                return "card" in str(widget.get_value()).lower()
        return True

    def drain_events(self, limit: int = 20) -> int:
        """Consume pending camera events (file added, property changed) so they do not pile up."""
        for count in range(limit):
            if self._next_event(1, "reading camera events")[0] == gp.GP_EVENT_TIMEOUT:
                return count
        return limit

    def _next_event(self, timeout_ms: int, doing: str) -> tuple[int, Any]:
        """(kind, data) of the camera's next event, or a timeout event after ``timeout_ms``."""
        try:
            kind, data = self._cam().wait_for_event(timeout_ms)
        except gp.GPhoto2Error as exc:
            raise self._error(exc, doing) from None
        return kind, data

    # -- focus -----------------------------------------------------------------------------------

    def drive_focus(self, direction: FocusDirection, step: StepClass, count: int = 1) -> None:
        drive = self._focus
        if drive is None:
            raise Unsupported(self.info.capabilities.focus_drive_note or f"{self.info.model} cannot drive focus")
        if count < 1:
            raise InvalidValue(f"focus step count must be at least 1, not {count}")
        value, writes = drive.plan(FocusDirection(direction), StepClass(step), count)
        if drive.kind == "relative":
            current = float(self._cam().get_single_config(drive.widget).get_value())
            value, writes = current + float(value) * writes, 1  # type: ignore[arg-type]
        for _ in range(writes):
            self._write_widget(drive.widget, value, f"driving focus {FocusDirection(direction).value}")
        self.drain_events()

    # -- movies ----------------------------------------------------------------------------------

    def start_movie(self) -> float:
        if not self.info.capabilities.movie:
            raise Unsupported(f"{self.info.model} cannot record movies through libgphoto2")
        self.drain_events()  # an old file-added event must not pass for the movie's
        self._write_widget(MOVIE_WIDGET, True, "starting a movie")
        self._movie_started = time.time()
        return self._movie_started

    def stop_movie(self, dest: str, progress: Progress | None = None) -> MovieFile:
        """Stop recording, wait for the camera's file-added event, and read the file in chunks into ``dest``."""
        report = progress or (lambda done, total: None)
        self._write_widget(MOVIE_WIDGET, False, "stopping the movie")
        path = self._wait_for_file(report)
        camera = self._cam()
        try:
            info = camera.file_get_info(path.folder, path.name)
            total = int(info.file.size)
            buffer = bytearray(MOVIE_CHUNK)
            done = 0
            with open(dest, "wb") as out:
                while done < total:
                    got = camera.file_read(path.folder, path.name, gp.GP_FILE_TYPE_NORMAL, done, buffer)
                    if got <= 0:
                        raise CameraDisconnected(f"the camera stopped sending {path.name} at {done} of {total} bytes")
                    out.write(memoryview(buffer)[:got])
                    done += got
                    report(done, total)
            mime = str(info.file.type) or "video/mp4"
        except gp.GPhoto2Error as exc:
            raise self._error(exc, f"downloading the movie {path.name}") from None
        if self.delete_from_card:
            try:
                camera.file_delete(path.folder, path.name)
            except gp.GPhoto2Error as exc:
                log.warning("could not delete %s/%s from the card: %s", path.folder, path.name, exc)
        return MovieFile(dest, path.name, mime, os.path.getsize(dest), self._movie_started)

    def _wait_for_file(self, report: Progress) -> Any:
        """The path of the next file the camera adds (the movie), waiting up to MOVIE_FILE_WAIT seconds."""
        deadline = time.monotonic() + MOVIE_FILE_WAIT
        while time.monotonic() < deadline:
            kind, data = self._next_event(1000, "waiting for the movie file")
            if kind == gp.GP_EVENT_FILE_ADDED:
                return data
            report(0, 0)  # still writing: a sign of life for the supervisor's deadline
        raise CameraError(f"{self.info.model} wrote no movie file within {MOVIE_FILE_WAIT:g} s of stopping",
                          hint="check the card: is it full or write-protected?")
