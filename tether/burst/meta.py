"""Per-frame metadata: the record written next to every frame, and its strict JSON form."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from tether.burst.errors import CorruptBurst

SOURCES = ("liveview", "still", "movie")


@dataclass(frozen=True)
class FrameMeta:
    """What is known about one frame; the writer fills index, sha256 and (when 0) width/height."""

    index: int = -1                  # filled by the writer
    captured_at: float = 0.0         # epoch seconds
    focus_position: int = 0          # motor steps from the near end stop (-1 when unknown)
    step_class: str = "small"        # the step class used to reach this position
    source: str = "liveview"         # "liveview" | "still" | "movie"
    exposure: dict[str, Any] = field(default_factory=dict)
    width: int = 0                   # 0 -> read from the JPEG/PNG header by the writer
    height: int = 0
    mime: str = ""                   # "" -> sniffed from the bytes
    sha256: str = ""                 # filled by the writer
    corrupt: bool = False            # the camera sent it broken; stored anyway
    extra: dict[str, Any] = field(default_factory=dict)
    filename: str = ""               # the camera's own file name, when it gave one (keeps a RAW's extension)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored in the burst."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object, where: str) -> FrameMeta:
        """Build from stored JSON, refusing wrong types with a message naming ``where`` and the field."""
        if not isinstance(data, dict):
            raise CorruptBurst(f"{where}: frame metadata must be a JSON object, got {type(data).__name__}")
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                if f.name in ("index", "focus_position", "sha256"):
                    raise CorruptBurst(f"{where}: frame metadata lacks '{f.name}'")
                continue
            values[f.name] = _check(f.name, data[f.name], where)
        meta = cls(**values)
        if meta.source not in SOURCES:
            raise CorruptBurst(f"{where}: frame source {meta.source!r} is not one of {', '.join(SOURCES)}")
        return meta


_TYPES: dict[str, tuple[type, ...]] = {
    "focus_position": (int,), "step_class": (str,), "source": (str,), "captured_at": (int, float),
    "exposure": (dict,), "width": (int,), "height": (int,), "mime": (str,), "corrupt": (bool,),
    "filename": (str,), "index": (int,), "sha256": (str,), "extra": (dict,),
}


def _check(name: str, stored: object, where: str) -> Any:
    expected = _TYPES[name]
    # bool is an int in Python; a stored true/false is never a valid count or position
    if not isinstance(stored, expected) or (isinstance(stored, bool) and bool not in expected):
        names = " or ".join(t.__name__ for t in expected)
        raise CorruptBurst(f"{where}: '{name}' must be {names}, got {type(stored).__name__} {stored!r:.40}")
    value: Any = stored  # of one of the expected types, which the checks below tell apart by name
    if name == "captured_at":
        if not math.isfinite(value):
            raise CorruptBurst(f"{where}: 'captured_at' must be a finite number")
        return float(value)
    if name in ("width", "height") and value < 0:
        raise CorruptBurst(f"{where}: '{name}' must not be negative")
    if name == "sha256" and value and (len(value) != 64 or any(c not in "0123456789abcdef" for c in value)):
        raise CorruptBurst(f"{where}: 'sha256' is not a hex SHA-256 digest")
    return value
