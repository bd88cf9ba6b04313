"""The burst container: a ZIP file of camera frames written crash-safely during a focus sweep.

Public API (see docs/burst-format.md for the layout)::

    with BurstWriter.create(path, camera={...}, sweep={...}) as w:
        w.append(jpeg_bytes, FrameMeta(focus_position=120, step_class="small", source="liveview"))
    with open_burst(path) as r:
        r.frame_image(0, reduce=4)
    store_derived(path, "depth.png", png_bytes)
"""
from tether.burst.derived import keep_derived, store_derived, store_derived_items
from tether.burst.errors import BurstBusy, BurstError, CorruptBurst, UnsupportedVersion
from tether.burst.format import FORMAT_VERSION_TEXT
from tether.burst.meta import FrameMeta
from tether.burst.reader import BurstReader, decode_frame, open_burst
from tether.burst.writer import BurstWriter

__all__ = [
    "FORMAT_VERSION_TEXT",
    "BurstBusy",
    "BurstError",
    "BurstReader",
    "BurstWriter",
    "CorruptBurst",
    "FrameMeta",
    "UnsupportedVersion",
    "decode_frame",
    "keep_derived",
    "open_burst",
    "store_derived",
    "store_derived_items",
]
