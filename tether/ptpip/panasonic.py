"""Panasonic Lumix PTP extensions as libgphoto2's ptp2 driver speaks them (vendor extension 0x1C).

Property channel: 0x9402 GetProperty -> [u32 code][u32 size][value]; 0x9403 SetProperty <- [u32 code]
[u16 size][2 pad][value]; 0x9108 ListProperty -> a block whose header length (in u32s) sits at offset 4,
the property code at offset 28, then at header_len*4 + 8 the current value, a u32 count and the values.

Live-view size: 0x9414 with 0x0D800012 -> [u32 0x0D800012][u32 size][u16 count][u16 8] then count modes;
0x9414 with 0x0D800011 -> [u32 0x0D800011][u32 8][mode]; 0x9415 <- the same block as 0x0D800011 returns.
A mode is [u16 height][u16 width][u16 x][u16 frames per second] (x: meaning unknown to libgphoto2 too).
"""
from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from tether.camera.types import FocusDirection, StepClass

VENDOR_EXTENSION_ID = 0x1C

OC_LIST_PROPERTY = 0x9108
OC_GET_PROPERTY_SIZE = 0x9107
OC_EVENT_ACK = 0x9401
OC_GET_PROPERTY = 0x9402
OC_SET_PROPERTY = 0x9403
OC_INITIATE_CAPTURE = 0x9404
OC_CAPTURE_TARGET = 0x940B
OC_MOVIE_REC_CONTROL = 0x940C
OC_LIVEVIEW = 0x9412
OC_GET_LIVEVIEW_PARAMETERS = 0x9414
OC_SET_LIVEVIEW_PARAMETERS = 0x9415
OC_MANUAL_FOCUS_DRIVE = 0x9416
OC_LIVEVIEW_IMAGE = 0x9706

EC_OBJECT_ADDED = 0xC108
EC_OBJECT_ADDED_SDRAM = 0xC109

LIVEVIEW_SIZES = 0x0D800012
LIVEVIEW_SIZE = 0x0D800011
LIVEVIEW_MODE_BYTES = 8

LIVEVIEW_START = 0x0D000010
LIVEVIEW_STOP = 0x0D000011
FOCUS_CONTROL = 0x03010011
#: MovieRecControl's one parameter (no data phase): start or stop recording.
MOVIE_START = 0x07000011
MOVIE_STOP = 0x07000012

#: ManualFocusDrive modes (the u16 at offset 8 of the 10-byte data phase) and what they do to the motor.
FOCUS_MODES: dict[int, tuple[FocusDirection, StepClass]] = {
    1: (FocusDirection.NEAR, StepClass.LARGE),   # Near 2
    2: (FocusDirection.NEAR, StepClass.SMALL),   # Near 1
    3: (FocusDirection.FAR, StepClass.SMALL),    # Far 1
    4: (FocusDirection.FAR, StepClass.LARGE),    # Far 2
}

#: Header before the JPEG in a 0x9706 record; libgphoto2 searches for the JPEG start marker.
#: It must not contain 0xFF bytes (some parsers scan for FF D8 and stumble on a lone FF).
LIVEVIEW_HEADER = struct.pack("<8I", 0x20, 1, 0, 0, 0, 0, 0, 0)


@dataclass
class Property:
    """One Panasonic property: its value width and the values the camera accepts."""

    code: int
    size: int
    value: int
    choices: tuple[int, ...]

    def pack_value(self, value: int) -> bytes:
        return struct.pack("<H" if self.size == 2 else "<I", value)


def _props() -> dict[int, Property]:
    table = [
        Property(0x02000020, 4, 200, (200, 400, 800, 1600, 3200, 6400)),            # ISO
        Property(0x02000030, 4, 125000, (30000, 60000, 125000, 250000, 500000, 1000000)),  # shutter (1/x, x1000)
        Property(0x02000040, 2, 56, (17, 28, 40, 56, 80, 110, 160, 220)),           # aperture (f x10)
        Property(0x02000050, 2, 2, (2, 4, 5, 6, 7)),                                # white balance
        Property(0x02000060, 2, 0, (0x8003, 0x8002, 0x8001, 0, 1, 2, 3)),           # exposure comp (1/3 EV)
        Property(0x02000070, 2, 4, (0, 1, 2, 3, 4)),                                # focus mode (4 = MF)
        Property(0x06000010, 2, 0, (0, 1, 2)),                                      # recording format
    ]
    props: dict[int, Property] = {}
    for prop in table:
        props[prop.code] = prop
        props[prop.code + 1] = prop  # the *_Param code addresses the same value (libgphoto2 writes there)
    return props


@dataclass
class PropertyStore:
    """The camera's Panasonic properties, read and written through 0x9402/0x9108/0x9403."""

    props: dict[int, Property] = field(default_factory=_props)

    def get(self, code: int) -> bytes | None:
        prop = self.props.get(code)
        if prop is None:
            return None
        return struct.pack("<II", code, prop.size) + prop.pack_value(prop.value)

    def describe(self, code: int) -> bytes | None:
        prop = self.props.get(code)
        if prop is None:
            return None
        header_words = 6  # header spans offsets 8..32; the property code sits at offset 28
        header = struct.pack("<II", 1, header_words) + struct.pack("<5I", 0, 0, 0, 0, 0) + struct.pack("<I", code)
        fmt = "H" if prop.size == 2 else "I"
        body = struct.pack(f"<{fmt}I", prop.value, len(prop.choices)) + struct.pack(
            f"<{len(prop.choices)}{fmt}", *prop.choices
        )
        return header + body

    def set(self, code: int, data: bytes) -> bool:
        """Apply a SetProperty data phase; False when the code or value is not accepted."""
        prop = self.props.get(code)
        if prop is None or len(data) < 8 + prop.size:
            return False
        fmt = "<H" if prop.size == 2 else "<I"
        (value,) = struct.unpack_from(fmt, data, 8)
        if value not in prop.choices:
            return False
        prop.value = value
        return True


@dataclass(frozen=True)
class LiveViewMode:
    """One live-view size as 0x9414/0x9415 carry it; libgphoto2 labels it "WxH x FPSHZ"."""

    width: int
    height: int
    #: libgphoto2's trace of a real body lists nonzero values here but 0 for the current size, which
    #: leaves the widget's value outside its own choices; 0 throughout keeps it one of them.
    x: int = 0
    fps: int = 30

    def pack(self) -> bytes:
        """The 8-byte mode; height first, as libgphoto2 reads it."""
        return struct.pack("<4H", self.height, self.width, self.x, self.fps)


def liveview_sizes_block(modes: Sequence[LiveViewMode]) -> bytes:
    """The 0x9414 0x0D800012 reply: every live-view size the camera offers."""
    body = struct.pack("<HH", len(modes), LIVEVIEW_MODE_BYTES) + b"".join(m.pack() for m in modes)
    return struct.pack("<II", LIVEVIEW_SIZES, len(body)) + body


def liveview_size_block(mode: LiveViewMode) -> bytes:
    """The 0x9414 0x0D800011 reply, and the 0x9415 data phase: one live-view size."""
    return struct.pack("<II", LIVEVIEW_SIZE, LIVEVIEW_MODE_BYTES) + mode.pack()


def parse_liveview_size(data: bytes) -> LiveViewMode | None:
    """The mode of a 0x9415 data phase, or None when it is not a 0x0D800011 block."""
    if len(data) < 8 + LIVEVIEW_MODE_BYTES:
        return None
    code, size, height, width, x, fps = struct.unpack_from("<II4H", data)
    if code != LIVEVIEW_SIZE or size != LIVEVIEW_MODE_BYTES:
        return None
    return LiveViewMode(width, height, x, fps)


def parse_focus_drive(data: bytes) -> int | None:
    """The mode of a 0x9416 data phase [u32 0x03010011][u32 2][u16 mode], or None when malformed."""
    if len(data) < 10:
        return None
    control, kind, mode = struct.unpack_from("<IIH", data)
    if control != FOCUS_CONTROL or kind != 2 or mode not in FOCUS_MODES:
        return None
    return mode
