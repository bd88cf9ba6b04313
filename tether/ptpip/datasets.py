"""PTP datasets (ISO 15740 section 5.5) packed little-endian: DeviceInfo, StorageInfo, ObjectInfo."""
from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

# Standard operation codes the virtual camera answers.
OC_GET_DEVICE_INFO = 0x1001
OC_OPEN_SESSION = 0x1002
OC_CLOSE_SESSION = 0x1003
OC_GET_STORAGE_IDS = 0x1004
OC_GET_STORAGE_INFO = 0x1005
OC_GET_NUM_OBJECTS = 0x1006
OC_GET_OBJECT_HANDLES = 0x1007
OC_GET_OBJECT_INFO = 0x1008
OC_GET_OBJECT = 0x1009
OC_GET_THUMB = 0x100A
OC_DELETE_OBJECT = 0x100B
OC_INITIATE_CAPTURE = 0x100E
OC_GET_PARTIAL_OBJECT = 0x101B

# Response codes.
RC_OK = 0x2001
RC_GENERAL_ERROR = 0x2002
RC_SESSION_NOT_OPEN = 0x2003
RC_OPERATION_NOT_SUPPORTED = 0x2005
RC_INVALID_STORAGE_ID = 0x2008
RC_INVALID_OBJECT_HANDLE = 0x2009
RC_DEVICE_PROP_NOT_SUPPORTED = 0x200A
RC_DEVICE_BUSY = 0x2019
RC_INVALID_PARAMETER = 0x201D
RC_SESSION_ALREADY_OPEN = 0x201E

# Events.
EC_OBJECT_ADDED = 0x4002
EC_CAPTURE_COMPLETE = 0x400D

OFC_ASSOCIATION = 0x3001
OFC_EXIF_JPEG = 0x3801
OFC_MP4 = 0xB982  # MTP's MP4 container, which libgphoto2 names video/mp4

STORAGE_ID = 0x00010001


def ptp_string(text: str) -> bytes:
    """PTP string: u8 character count including the NUL, then UTF-16LE; empty = one zero byte."""
    if not text:
        return b"\0"
    encoded = (text + "\0").encode("utf-16-le")
    return struct.pack("<B", len(encoded) // 2) + encoded


def u16_array(values: Sequence[int]) -> bytes:
    return struct.pack(f"<I{len(values)}H", len(values), *values)


def u32_array(values: Sequence[int]) -> bytes:
    return struct.pack(f"<I{len(values)}I", len(values), *values)


@dataclass(frozen=True)
class DeviceInfo:
    manufacturer: str
    model: str
    version: str
    serial: str
    vendor_extension_id: int
    vendor_extension_desc: str
    operations: tuple[int, ...]
    events: tuple[int, ...]
    properties: tuple[int, ...] = ()
    capture_formats: tuple[int, ...] = (OFC_EXIF_JPEG,)
    image_formats: tuple[int, ...] = (OFC_EXIF_JPEG, OFC_MP4, OFC_ASSOCIATION)

    def pack(self) -> bytes:
        return b"".join((
            struct.pack("<HIH", 100, self.vendor_extension_id, 100),
            ptp_string(self.vendor_extension_desc),
            struct.pack("<H", 0),  # functional mode: standard
            u16_array(self.operations),
            u16_array(self.events),
            u16_array(self.properties),
            u16_array(self.capture_formats),
            u16_array(self.image_formats),
            ptp_string(self.manufacturer),
            ptp_string(self.model),
            ptp_string(self.version),
            ptp_string(self.serial),
        ))


def storage_info(description: str, capacity: int, free: int, free_images: int) -> bytes:
    """A removable-RAM storage (an SD card) with a hierarchical filesystem, read-write."""
    return struct.pack("<HHHQQI", 0x0004, 0x0002, 0x0000, capacity, free, free_images) + ptp_string(
        description
    ) + ptp_string("")


@dataclass(frozen=True)
class ObjectInfo:
    filename: str
    size: int
    object_format: int = OFC_EXIF_JPEG
    parent: int = 0
    width: int = 0
    height: int = 0
    association_type: int = 0
    capture_date: str = ""

    def pack(self) -> bytes:
        return b"".join((
            struct.pack(
                "<IHHIHIIIIIIIHII",
                STORAGE_ID, self.object_format, 0, self.size,
                0, 0, 0, 0,  # no thumbnail
                self.width, self.height, 24 if self.width else 0,
                self.parent, self.association_type, 0, 0,
            ),
            ptp_string(self.filename),
            ptp_string(self.capture_date),
            ptp_string(self.capture_date),
            ptp_string(""),
        ))
