"""Checking the burst header (``burst.json``) and manifest (``manifest.json``) field by field."""
from __future__ import annotations

import json
import math
from typing import Any

from tether.burst.errors import BurstError, CorruptBurst
from tether.burst.format import FORMAT_NAME, check_derived_name, check_version
from tether.burst.meta import FrameMeta


def parse_json(data: bytes, where: str) -> Any:
    """Decode stored JSON; a CorruptBurst naming ``where`` when it is not valid UTF-8 JSON."""
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CorruptBurst(f"{where}: not valid JSON ({str(exc)[:80]})") from None


def _need(doc: dict[str, Any], key: str, kinds: tuple[type, ...], where: str, *, optional: bool = False) -> Any:
    if key not in doc:
        if optional:
            return None
        raise CorruptBurst(f"{where}: '{key}' is missing")
    value = doc[key]
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
        raise CorruptBurst(f"{where}: '{key}' must be {names}, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise CorruptBurst(f"{where}: '{key}' must be a finite number")
    return value


def check_header(doc: Any, where: str) -> dict[str, Any]:
    """Validate the fields ``burst.json`` and ``manifest.json`` share; refuses a newer major version."""
    if not isinstance(doc, dict):
        raise CorruptBurst(f"{where}: must be a JSON object, got {type(doc).__name__}")
    if doc.get("format") != FORMAT_NAME:
        raise CorruptBurst(f"{where}: 'format' is {doc.get('format')!r}, not {FORMAT_NAME!r}; not a tether burst")
    check_version(doc.get("version"), where)
    _need(doc, "camera", (dict,), where)
    _need(doc, "sweep", (dict,), where)
    _need(doc, "created_at", (int, float), where)
    _need(doc, "tether_version", (str,), where, optional=True)
    return doc


def check_manifest(doc: Any, where: str) -> tuple[dict[str, Any], list[tuple[FrameMeta, str]]]:
    """Validate a manifest; returns it with its frames as ``(FrameMeta, entry name)`` pairs."""
    check_header(doc, where)
    count = _need(doc, "frame_count", (int,), where)
    frames = _need(doc, "frames", (list,), where)
    _need(doc, "summary", (dict,), where, optional=True)
    _need(doc, "status", (str,), where, optional=True)
    _need(doc, "closed_at", (int, float, type(None)), where, optional=True)
    derived = _need(doc, "derived", (dict,), where, optional=True) or {}
    if count != len(frames):
        raise CorruptBurst(f"{where}: 'frame_count' is {count} but {len(frames)} frames are listed")
    pairs = []
    for k, item in enumerate(frames):
        meta = FrameMeta.from_dict(item, f"{where} frames[{k}]")
        entry = item.get("entry")
        if not isinstance(entry, str):
            raise CorruptBurst(f"{where} frames[{k}]: 'entry' must be a string")
        pairs.append((meta, entry))
    for name, info in derived.items():
        try:
            check_derived_name(name)
        except BurstError as exc:
            raise CorruptBurst(f"{where}: {exc.message}") from None
        if not isinstance(info, dict):
            raise CorruptBurst(f"{where}: derived[{name!r}] must be an object")
        _need(info, "entry", (str,), f"{where} derived[{name!r}]")
        _need(info, "size", (int,), f"{where} derived[{name!r}]")
        _need(info, "sha256", (str,), f"{where} derived[{name!r}]")
    return doc, pairs
