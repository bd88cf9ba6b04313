"""Turn engine results (dataclasses, enums, numpy numbers, paths) into plain JSON values."""
from __future__ import annotations

import dataclasses
import enum
import math
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tether.engine import Engine


def data_root(engine: Engine) -> str:
    """The engine's data folder as a string prefix: paths under it are shown to clients as ids."""
    return f"{engine.store.root}/"


def jsonable(value: Any, root: str = "") -> Any:
    """A copy of ``value`` made only of dict, list, str, int, float, bool and None.

    Strings that are paths inside ``root`` (the data folder) become the id of what they name
    (the file name without ``.burst``): clients see ids, never server paths.
    """
    if isinstance(value, str):
        if root and value.startswith(root) and "\n" not in value and " " not in value[len(root):]:
            name = PurePath(value).name
            return name[: -len(".burst")] if name.endswith(".burst") else name
        # a message that mentions a file: keep the part below the data folder only
        return value.replace(root, "") if root else value
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, enum.Enum):
        return jsonable(value.value, root)
    if isinstance(value, dict):
        return {str(k): jsonable(v, root) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v, root) for v in value]
    if isinstance(value, PurePath):
        return jsonable(str(value), root) if root else value.name  # never reveal server paths
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict(), root)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable({f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, root)
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return jsonable(value.tolist(), root)
    if isinstance(value, bytes):
        return None
    return str(value)
