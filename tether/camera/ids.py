"""Camera ids: port-like strings users already know (``sim:macro``, ``usb:001,005``, ``ptpip:HOST:PORT``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from tether.camera.errors import CameraNotFound

SCHEMES = ("sim", "usb", "ptpip")


@dataclass(frozen=True)
class CameraId:
    scheme: str
    address: str = ""
    options: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        text = f"{self.scheme}:{self.address}" if self.address else self.scheme
        if self.options:
            text += "?" + "&".join(f"{k}={v}" for k, v in self.options.items())
        return text

    @property
    def port(self) -> str:
        """The id without its options, as libgphoto2 and listings show it."""
        return f"{self.scheme}:{self.address}" if self.address else self.scheme


def parse_camera_id(text: str) -> CameraId:
    """Split ``scheme:address?key=value&...``; raises CameraNotFound for an unknown scheme."""
    raw = text.strip()
    base, _, query = raw.partition("?")
    scheme, _, address = base.partition(":")
    scheme = scheme.lower()
    if scheme not in SCHEMES:
        raise CameraNotFound(
            f"no camera {text!r}", hint="camera ids look like sim, sim:macro, usb:001,005 or ptpip:192.168.1.20:15740"
        )
    try:
        options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError:
        raise CameraNotFound(f"camera id {text!r} has malformed options after '?'", hint="write key=value&key=value") from None
    return CameraId(scheme, address, options)
