"""Putting a frame's metadata into its JPEG as EXIF and XMP segments, without re-encoding the image.

Only header segments are added; the camera's compressed image data is copied byte for byte.
A JPEG that already has EXIF (a still from the camera) keeps it untouched (MakerNote offsets
survive) and gets the tether fields in XMP only; one without EXIF (live view) gets both.
"""
from __future__ import annotations

import struct
import time
from typing import Any
from xml.sax.saxutils import escape

from PIL import Image

from tether import __version__
from tether.burst.meta import FrameMeta
from tether.numbering import frame_number

XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
TETHER_NS = "urn:tether:xmp:1.0/"  # a URN: no web host implied
_EXIF_IFD, _IMAGE_DESCRIPTION, _MAKE, _MODEL, _SOFTWARE = 0x8769, 0x010E, 0x010F, 0x0110, 0x0131
_DATETIME_ORIGINAL, _USER_COMMENT = 0x9003, 0x9286


def describe(meta: FrameMeta) -> str:
    """The one-line description stored in ImageDescription / dc:description (for a person: counted from 1)."""
    return (f"tether frame {frame_number(meta.index)}: focus position {meta.focus_position} steps from near "
            f"({meta.step_class} steps, {meta.source})")


def tag_jpeg(data: bytes, meta: FrameMeta, camera: dict[str, Any]) -> bytes:
    """``data`` with an XMP segment (and an EXIF one when it had none) holding ``meta``."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    pos, has_exif = 2, False
    insert_at = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] in (0xE0, 0xE1):
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if data[pos + 1] == 0xE1 and data[pos + 4:pos + 10] == b"Exif\x00\x00":
            has_exif = True
        pos += 2 + length
        insert_at = pos
    segments = b"" if has_exif else _segment(0xE1, _exif(meta, camera))
    segments += _segment(0xE1, XMP_HEADER + xmp_packet(meta, camera).encode("utf-8"))
    return data[:insert_at] + segments + data[insert_at:]


def _segment(marker: int, payload: bytes) -> bytes:
    if len(payload) + 2 > 0xFFFF:
        raise ValueError("metadata segment too large")
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _exif(meta: FrameMeta, camera: dict[str, Any]) -> bytes:
    exif = Image.Exif()
    exif[_IMAGE_DESCRIPTION] = describe(meta)
    exif[_SOFTWARE] = f"tether {__version__}"
    if camera.get("manufacturer"):
        exif[_MAKE] = str(camera["manufacturer"])
    if camera.get("model"):
        exif[_MODEL] = str(camera["model"])
    sub = exif.get_ifd(_EXIF_IFD)
    if meta.captured_at:
        sub[_DATETIME_ORIGINAL] = time.strftime("%Y:%m:%d %H:%M:%S", time.localtime(meta.captured_at))
    # UserComment: an 8-byte character code, then the text (EXIF 2.3, 4.6.5)
    sub[_USER_COMMENT] = b"ASCII\x00\x00\x00" + (
        f"index={meta.index};focus_position={meta.focus_position};step_class={meta.step_class};source={meta.source}"
    ).encode("ascii", "replace")
    return exif.tobytes()


def xmp_packet(meta: FrameMeta, camera: dict[str, Any]) -> str:
    """An XMP packet with dc:description and the tether namespace fields (also usable as a .xmp sidecar)."""
    fields = {
        "frameIndex": meta.index, "focusPosition": meta.focus_position, "stepClass": meta.step_class,
        "source": meta.source, "capturedAt": f"{meta.captured_at:.3f}", "corrupt": str(meta.corrupt).lower(),
        "cameraModel": camera.get("model", ""), "sha256": meta.sha256,
    }
    attrs = "\n".join(f'   tether:{k}="{escape(str(v), {chr(34): "&quot;"})}"' for k, v in fields.items())
    created = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(meta.captured_at)) if meta.captured_at else ""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '   xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '   xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        f'   xmlns:tether="{TETHER_NS}"\n'
        + (f'   xmp:CreateDate="{created}"\n' if created else "")
        + f'   xmp:CreatorTool="tether {__version__}"\n{attrs}>\n'
        f'   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{escape(describe(meta))}</rdf:li></rdf:Alt>'
        '</dc:description>\n'
        '  </rdf:Description>\n'
        ' </rdf:RDF>\n'
        '</x:xmpmeta>\n'
        '<?xpacket end="w"?>'
    )
