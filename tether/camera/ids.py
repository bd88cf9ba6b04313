"""Camera ids: port-like strings users already know (``sim:macro``, ``usb:001,005``, ``ptpip:HOST:PORT``).

A PTP/IP id may name a third field, the event port; without it the event port is the command
port (the virtual camera serves both on one port), and without a port both are 15740.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from tether.camera.errors import CameraNotFound

#: The PTP/IP port cameras listen on (ISO 15740, hence the number).
DEFAULT_PTPIP_PORT = 15740
HINT = "camera ids look like sim, sim:macro, usb:001,005 or ptpip:192.168.1.20:15740"


@dataclass(frozen=True)
class CameraId:
    scheme: str
    address: str = ""
    options: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        text = self.without_options
        if self.options:
            text += "?" + "&".join(f"{k}={v}" for k, v in self.options.items())
        return text

    @property
    def without_options(self) -> str:
        """The id without its options, as libgphoto2 and listings show it."""
        return f"{self.scheme}:{self.address}" if self.address else self.scheme

    @property
    def host(self) -> str:
        """A PTP/IP camera's host name or address ("" for other schemes)."""
        return _ptpip_fields(self)[0]

    @property
    def port(self) -> int:
        """A PTP/IP camera's command port (0 for other schemes)."""
        return _ptpip_fields(self)[1]

    @property
    def event_port(self) -> int:
        """A PTP/IP camera's event port (0 for other schemes)."""
        return _ptpip_fields(self)[2]


def _ptpip_fields(camera_id: CameraId) -> tuple[str, int, int]:
    """(host, command port, event port) of a PTP/IP id; ("", 0, 0) for other schemes. ValueError if malformed."""
    if camera_id.scheme != "ptpip":
        return "", 0, 0
    host, *ports = camera_id.address.split(":")
    if not host or len(ports) > 2:
        raise ValueError(camera_id.address)
    port = int(ports[0]) if ports and ports[0] else DEFAULT_PTPIP_PORT
    event_port = int(ports[1]) if len(ports) > 1 and ports[1] else port
    if not (0 < port < 65536 and 0 < event_port < 65536):
        raise ValueError(camera_id.address)
    return host, port, event_port


def parse_camera_id(text: str) -> CameraId:
    """Split ``scheme:address?key=value&...``; raises CameraNotFound for a malformed id.

    Whether tether has a driver for the scheme is the driver table's call (tether.camera.drivers).
    """
    raw = text.strip()
    base, _, query = raw.partition("?")
    scheme, _, address = base.partition(":")
    scheme = scheme.lower()
    if not scheme.isalnum():
        raise CameraNotFound(f"no camera {text!r}", hint=HINT)
    try:
        options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError:
        raise CameraNotFound(f"camera id {text!r} has malformed options after '?'",
                             hint="write key=value&key=value") from None
    camera_id = CameraId(scheme, address, options)
    try:
        _ptpip_fields(camera_id)
    except ValueError:
        raise CameraNotFound(f"camera id {text!r} is not HOST, HOST:PORT or HOST:PORT:EVENT_PORT after 'ptpip:'",
                             hint=HINT) from None
    return camera_id


def ptpip_answers(camera_id: CameraId, timeout: float = 0.3) -> bool:
    """A quick TCP connect to a PTP/IP camera, so nothing waits on libgphoto2's timeouts for an absent one."""
    try:
        with socket.create_connection((camera_id.host, camera_id.port), timeout=timeout):
            return True
    except OSError:
        return False
