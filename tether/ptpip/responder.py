"""The virtual Lumix: a PTP responder presenting a Panasonic DMC-GX8 over a simulated camera.

Transport-free: ``handle`` takes one operation (and its host data) and returns the reply; the
server moves bytes. Frames and stills come from the wrapped camera; 0x9416 drives its focus motor,
0x9414/0x9415 read and set its live-view size, 0x940C starts and stops its movie, which lands on the
virtual card as an MP4 announced with the object-added event.
"""
from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tether.camera.base import Camera
from tether.camera.errors import CameraError
from tether.ptpip import datasets as ds
from tether.ptpip import panasonic as pana

log = logging.getLogger(__name__)

MODEL = "DMC-GX8"
MANUFACTURER = "Panasonic"

#: Operations that return data to the host (the request's data-phase flag cannot tell us).
DATA_OUT_OPS = frozenset({
    ds.OC_GET_DEVICE_INFO, ds.OC_GET_STORAGE_IDS, ds.OC_GET_STORAGE_INFO, ds.OC_GET_OBJECT_HANDLES,
    ds.OC_GET_OBJECT_INFO, ds.OC_GET_OBJECT, ds.OC_GET_THUMB, ds.OC_GET_PARTIAL_OBJECT,
    pana.OC_LIST_PROPERTY, pana.OC_GET_PROPERTY_SIZE, pana.OC_GET_PROPERTY, pana.OC_GET_LIVEVIEW_PARAMETERS,
    pana.OC_LIVEVIEW_IMAGE,
})

OPERATIONS = (
    ds.OC_GET_DEVICE_INFO, ds.OC_OPEN_SESSION, ds.OC_CLOSE_SESSION, ds.OC_GET_STORAGE_IDS,
    ds.OC_GET_STORAGE_INFO, ds.OC_GET_NUM_OBJECTS, ds.OC_GET_OBJECT_HANDLES, ds.OC_GET_OBJECT_INFO,
    ds.OC_GET_OBJECT, ds.OC_DELETE_OBJECT, ds.OC_GET_PARTIAL_OBJECT,
    pana.OC_LIST_PROPERTY, pana.OC_GET_PROPERTY, pana.OC_SET_PROPERTY, pana.OC_INITIATE_CAPTURE,
    pana.OC_LIVEVIEW, pana.OC_GET_LIVEVIEW_PARAMETERS, pana.OC_SET_LIVEVIEW_PARAMETERS,
    pana.OC_MANUAL_FOCUS_DRIVE, pana.OC_LIVEVIEW_IMAGE, pana.OC_MOVIE_REC_CONTROL,
)
EVENTS = (ds.EC_OBJECT_ADDED, ds.EC_CAPTURE_COMPLETE, pana.EC_OBJECT_ADDED)
#: The wrapped camera's setting that 0x9414/0x9415 read and write.
LIVEVIEW_SETTING = "liveviewsize"


@dataclass
class Reply:
    code: int
    params: tuple[int, ...] = ()
    #: Bytes for a camera-to-host data phase; None = no data phase.
    data: bytes | None = None
    #: (event code, params) to send on this host's event connection after the response.
    events: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)
    #: Work finished after the response (a capture renders while the host waits for its event);
    #: returns more events to send.
    later: Callable[[], list[tuple[int, tuple[int, ...]]]] | None = None


@dataclass
class StoredObject:
    handle: int
    name: str
    data: bytes
    width: int
    height: int
    captured: str
    object_format: int = ds.OFC_EXIF_JPEG


@dataclass
class Counters:
    """What the responder did, for tests and the CLI's status line."""

    frames: int = 0
    captures: int = 0
    focus_drives: int = 0
    movies: int = 0
    operations: dict[int, int] = field(default_factory=dict)


class VirtualLumix:
    """PTP operations of a Lumix DMC-GX8, rendered by ``camera`` (normally a SimCamera)."""

    def __init__(self, camera: Camera, *, serial: str = "VGX8000001") -> None:
        self.camera = camera
        self.serial = serial
        self.props = pana.PropertyStore()
        self.objects: dict[int, StoredObject] = {}
        self.counters = Counters()
        #: Hosts (connection numbers) with an open session; each host has its own, so a host that
        #: reconnects after a crash is not confused by the old connection's late teardown.
        self.sessions: set[int] = set()
        self.liveview = False
        self._next_handle = 0x1000
        self._lock = threading.Lock()  # one operation at a time, whichever connection asks
        self._camera_lock = threading.Lock()  # the simulated camera is used by one thread at a time

    def device_info(self) -> ds.DeviceInfo:
        return ds.DeviceInfo(
            manufacturer=MANUFACTURER, model=MODEL, version="1.0", serial=self.serial,
            vendor_extension_id=pana.VENDOR_EXTENSION_ID, vendor_extension_desc="panasonic.co.jp: 1.0;",
            operations=OPERATIONS, events=EVENTS,
        )

    def sends_data(self, code: int) -> bool:
        return code in DATA_OUT_OPS

    def handle(self, code: int, params: tuple[int, ...], data: bytes = b"", host: int = 0) -> Reply:
        with self._lock:
            self.counters.operations[code] = self.counters.operations.get(code, 0) + 1
            try:
                return self._dispatch(code, params, data, host)
            except CameraError as exc:  # the simulated camera refused (busy, fault injection)
                log.info("virtual Lumix: 0x%04x failed: %s", code, exc)
                return Reply(ds.RC_DEVICE_BUSY)

    def host_gone(self, host: int) -> None:
        """A host's connection closed: its session ends, as on a real body."""
        with self._lock:
            self.sessions.discard(host)
            if not self.sessions:
                self.liveview = False

    def _dispatch(self, code: int, params: tuple[int, ...], data: bytes, host: int) -> Reply:
        if code == ds.OC_GET_DEVICE_INFO:
            return Reply(ds.RC_OK, data=self.device_info().pack())
        if code == ds.OC_OPEN_SESSION:
            if host in self.sessions:
                return Reply(ds.RC_SESSION_ALREADY_OPEN)
            self.sessions.add(host)
            return Reply(ds.RC_OK)
        if code == ds.OC_CLOSE_SESSION:
            self.sessions.discard(host)
            return Reply(ds.RC_OK)
        if host not in self.sessions:
            return Reply(ds.RC_SESSION_NOT_OPEN)
        handler = self._handlers().get(code)
        if handler is None:
            return Reply(ds.RC_OPERATION_NOT_SUPPORTED)
        return handler(params, data)

    def _handlers(self) -> dict[int, Callable[[tuple[int, ...], bytes], Reply]]:
        return {
            ds.OC_GET_STORAGE_IDS: lambda p, d: Reply(ds.RC_OK, data=ds.u32_array([ds.STORAGE_ID])),
            ds.OC_GET_STORAGE_INFO: self._storage_info,
            ds.OC_GET_NUM_OBJECTS: lambda p, d: Reply(ds.RC_OK, (len(self._handles(p)),)),
            ds.OC_GET_OBJECT_HANDLES: lambda p, d: Reply(ds.RC_OK, data=ds.u32_array(self._handles(p))),
            ds.OC_GET_OBJECT_INFO: self._object_info,
            ds.OC_GET_OBJECT: self._get_object,
            ds.OC_GET_PARTIAL_OBJECT: self._get_partial_object,
            ds.OC_DELETE_OBJECT: self._delete_object,
            pana.OC_GET_PROPERTY: self._get_property,
            pana.OC_LIST_PROPERTY: self._list_property,
            pana.OC_SET_PROPERTY: self._set_property,
            pana.OC_INITIATE_CAPTURE: self._capture,
            pana.OC_LIVEVIEW: self._liveview,
            pana.OC_LIVEVIEW_IMAGE: self._liveview_image,
            pana.OC_MANUAL_FOCUS_DRIVE: self._focus_drive,
            pana.OC_MOVIE_REC_CONTROL: self._movie,
            pana.OC_GET_LIVEVIEW_PARAMETERS: self._get_liveview_parameters,
            pana.OC_SET_LIVEVIEW_PARAMETERS: self._set_liveview_parameters,
        }

    def _storage_info(self, params: tuple[int, ...], data: bytes) -> Reply:
        if not params or params[0] != ds.STORAGE_ID:
            return Reply(ds.RC_INVALID_STORAGE_ID)
        used = sum(len(o.data) for o in self.objects.values())
        capacity = 32 * 1024**3
        return Reply(ds.RC_OK, data=ds.storage_info("SD card", capacity, capacity - used, 9999))

    def _handles(self, params: tuple[int, ...]) -> list[int]:
        storage = params[0] if params else 0xFFFFFFFF
        parent = params[2] if len(params) > 2 else 0
        if storage not in (ds.STORAGE_ID, 0xFFFFFFFF) or parent not in (0, 0xFFFFFFFF):
            return []
        return sorted(self.objects)

    def _object(self, params: tuple[int, ...]) -> StoredObject | None:
        return self.objects.get(params[0]) if params else None

    def _object_info(self, params: tuple[int, ...], data: bytes) -> Reply:
        obj = self._object(params)
        if obj is None:
            return Reply(ds.RC_INVALID_OBJECT_HANDLE)
        info = ds.ObjectInfo(obj.name, len(obj.data), obj.object_format, width=obj.width, height=obj.height,
                             capture_date=obj.captured)
        return Reply(ds.RC_OK, data=info.pack())

    def _get_object(self, params: tuple[int, ...], data: bytes) -> Reply:
        obj = self._object(params)
        if obj is None:
            return Reply(ds.RC_INVALID_OBJECT_HANDLE)
        return Reply(ds.RC_OK, data=obj.data)

    def _get_partial_object(self, params: tuple[int, ...], data: bytes) -> Reply:
        obj = self._object(params)
        if obj is None or len(params) < 3:
            return Reply(ds.RC_INVALID_OBJECT_HANDLE)
        chunk = obj.data[params[1]:params[1] + params[2]]
        return Reply(ds.RC_OK, (len(chunk),), data=chunk)

    def _delete_object(self, params: tuple[int, ...], data: bytes) -> Reply:
        if self.objects.pop(params[0] if params else -1, None) is None:
            return Reply(ds.RC_INVALID_OBJECT_HANDLE)
        return Reply(ds.RC_OK)

    def _get_property(self, params: tuple[int, ...], data: bytes) -> Reply:
        packed = self.props.get(params[0] if params else 0)
        return Reply(ds.RC_DEVICE_PROP_NOT_SUPPORTED) if packed is None else Reply(ds.RC_OK, data=packed)

    def _list_property(self, params: tuple[int, ...], data: bytes) -> Reply:
        packed = self.props.describe(params[0] if params else 0)
        return Reply(ds.RC_DEVICE_PROP_NOT_SUPPORTED) if packed is None else Reply(ds.RC_OK, data=packed)

    def _set_property(self, params: tuple[int, ...], data: bytes) -> Reply:
        ok = self.props.set(params[0] if params else 0, data)
        return Reply(ds.RC_OK if ok else ds.RC_INVALID_PARAMETER)

    def _liveview(self, params: tuple[int, ...], data: bytes) -> Reply:
        mode = params[0] if params else pana.LIVEVIEW_START
        self.liveview = mode != pana.LIVEVIEW_STOP
        return Reply(ds.RC_OK)

    def _liveview_image(self, params: tuple[int, ...], data: bytes) -> Reply:
        with self._camera_lock:
            frame = self.camera.live_view_frame()
        self.counters.frames += 1
        return Reply(ds.RC_OK, data=pana.LIVEVIEW_HEADER + frame.data)

    def _liveview_modes(self) -> tuple[list[pana.LiveViewMode], pana.LiveViewMode] | None:
        """The wrapped camera's live-view sizes and its current one, or None when it has no such setting."""
        with self._camera_lock:
            setting = next((s for s in self.camera.settings() if s.name == LIVEVIEW_SETTING), None)
        if setting is None:
            return None

        def mode(size: str) -> pana.LiveViewMode:
            width, height = size.split("x")
            return pana.LiveViewMode(int(width), int(height))

        return [mode(size) for size in setting.choices], mode(str(setting.value))

    def _get_liveview_parameters(self, params: tuple[int, ...], data: bytes) -> Reply:
        modes = self._liveview_modes()
        what = params[0] if params else 0
        if modes is None or what not in (pana.LIVEVIEW_SIZES, pana.LIVEVIEW_SIZE):
            return Reply(ds.RC_DEVICE_PROP_NOT_SUPPORTED)
        offered, current = modes
        if what == pana.LIVEVIEW_SIZES:
            return Reply(ds.RC_OK, data=pana.liveview_sizes_block(offered))
        return Reply(ds.RC_OK, data=pana.liveview_size_block(current))

    def _set_liveview_parameters(self, params: tuple[int, ...], data: bytes) -> Reply:
        modes = self._liveview_modes()
        if modes is None:
            return Reply(ds.RC_DEVICE_PROP_NOT_SUPPORTED)
        wanted = pana.parse_liveview_size(data)
        if wanted is None or wanted not in modes[0]:
            log.info("virtual Lumix: refused live-view size data %s", data.hex())
            return Reply(ds.RC_INVALID_PARAMETER)
        with self._camera_lock:
            self.camera.set_setting(LIVEVIEW_SETTING, f"{wanted.width}x{wanted.height}")
        return Reply(ds.RC_OK)

    def _focus_drive(self, params: tuple[int, ...], data: bytes) -> Reply:
        mode = pana.parse_focus_drive(data)
        if mode is None:
            log.info("virtual Lumix: malformed ManualFocusDrive data %s", data.hex())
            return Reply(ds.RC_INVALID_PARAMETER)
        direction, step = pana.FOCUS_MODES[mode]
        with self._camera_lock:
            self.camera.drive_focus(direction, step, 1)
        self.counters.focus_drives += 1
        return Reply(ds.RC_OK)

    def _capture(self, params: tuple[int, ...], data: bytes) -> Reply:
        # Like the body, answer the release at once and announce the file when it exists: rendering
        # a full-size still can outlast libgphoto2's 2.5 s socket read, but not its event wait.
        return Reply(ds.RC_OK, later=self._develop)

    def _develop(self) -> list[tuple[int, tuple[int, ...]]]:
        with self._camera_lock:
            still = self.camera.capture_still()
        with self._lock:
            self.counters.captures += 1
            return [self._store("JPG", still.data, (still.width, still.height), still.timestamp, ds.OFC_EXIF_JPEG)]

    def _store(self, suffix: str, data: bytes, size: tuple[int, int], taken: float, object_format: int
               ) -> tuple[int, tuple[int, ...]]:
        """Put a new file on the card (under the operation lock); returns its object-added event."""
        self._next_handle += 1
        handle = self._next_handle
        name = f"P{1000 + self.counters.captures + self.counters.movies:07d}.{suffix}"
        stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(taken or time.time()))
        self.objects[handle] = StoredObject(handle, name, data, size[0], size[1], stamp, object_format)
        return pana.EC_OBJECT_ADDED, (handle,)

    def _movie(self, params: tuple[int, ...], data: bytes) -> Reply:
        what = params[0] if params else 0
        if what == pana.MOVIE_START:
            with self._camera_lock:
                self.camera.start_movie()
            return Reply(ds.RC_OK)
        if what != pana.MOVIE_STOP:
            return Reply(ds.RC_INVALID_PARAMETER)
        # As a body does, answer at once and announce the file once it is written: encoding can take
        # longer than libgphoto2's socket read, but not its wait for the event.
        return Reply(ds.RC_OK, later=self._write_movie)

    def _write_movie(self) -> list[tuple[int, tuple[int, ...]]]:
        fd, path = tempfile.mkstemp(prefix="tether-lumix-", suffix=".mp4")
        os.close(fd)
        try:
            with self._camera_lock:
                movie = self.camera.stop_movie(path)
            with open(path, "rb") as fh:
                data = fh.read()  # the virtual card keeps its files in memory
        finally:
            os.unlink(path)
        with self._lock:
            self.counters.movies += 1
            return [self._store("MP4", data, (0, 0), movie.started, ds.OFC_MP4)]
