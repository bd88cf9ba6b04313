"""Turn engine results (dataclasses, enums, numpy numbers, paths) into plain JSON values."""
from __future__ import annotations

import dataclasses
import enum
import math
from pathlib import PurePath
from typing import Any


def jsonable(value: Any) -> Any:
    """A copy of ``value`` made only of dict, list, str, int, float, bool and None."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, PurePath):
        return value.name  # never reveal server paths to the browser
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return jsonable(value.tolist())
    if isinstance(value, bytes):
        return None
    return str(value)
