"""Frame numbers as people read and type them, against the indices programs exchange.

The rule (README "Frame numbers"): what a person reads or types (the panel, the CLI's options and
messages, the names of exported files) counts frames from 1; what programs exchange (JSON fields,
the burst container) counts from 0. The panel's side of it is ``frameNumber`` in static/js/core.js.
A message that quotes the 0-based index a program sent (an API request for a frame there is not) calls it
"frame index"; "frame N" in a message is always the number counted from 1.
"""
from __future__ import annotations


def frame_number(index: int) -> int:
    """The number a person reads for the frame at 0-based ``index``."""
    return index + 1


def frame_index(number: int) -> int:
    """The 0-based index of the frame a person typed as ``number``."""
    return number - 1
