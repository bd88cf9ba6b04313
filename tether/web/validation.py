"""Checking JSON bodies: unknown keys, wrong types and out-of-range values give a 400 naming the key."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import request

from tether.web.errors import BadRequest

Check = Callable[[str, Any], Any]


@dataclass(frozen=True)
class Field:
    check: Check
    required: bool = False
    default: Any = None


def json_object() -> dict[str, Any]:
    """The request's JSON object, unchecked ({} without a body): for options the domain validates itself."""
    if request.content_length and not request.is_json:
        raise BadRequest("send the body as JSON (Content-Type: application/json)")
    data = request.get_json(silent=True) if request.content_length else {}
    if data is None:
        raise BadRequest("the body is not valid JSON")
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def json_body(fields: dict[str, Field]) -> dict[str, Any]:
    """The request's JSON object, checked against ``fields``; absent optional keys get their default."""
    data = json_object()
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}", hint="allowed: " + ", ".join(sorted(fields)) or "none")
    out = {}
    for name, spec in fields.items():
        if name in data and data[name] is not None:
            out[name] = spec.check(name, data[name])
        elif spec.required:
            raise BadRequest(f"field {name!r} is required")
        else:
            out[name] = spec.default
    return out


def integer(lo: int | None = None, hi: int | None = None) -> Check:
    def check(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadRequest(f"{name} must be a whole number, not {value!r}")
        _bounds(name, value, lo, hi)
        return value
    return check


def number(lo: float | None = None, hi: float | None = None) -> Check:
    def check(name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise BadRequest(f"{name} must be a number, not {value!r}")
        _bounds(name, value, lo, hi)
        return float(value)
    return check


def choice(*allowed: str) -> Check:
    def check(name: str, value: Any) -> str:
        if value not in allowed:
            raise BadRequest(f"{name} cannot be {value!r}", hint="choose one of: " + ", ".join(allowed))
        return str(value)
    return check


def text(max_len: int = 200) -> Check:
    def check(name: str, value: Any) -> str:
        if not isinstance(value, str) or len(value) > max_len:
            raise BadRequest(f"{name} must be a string of at most {max_len} characters")
        return value
    return check


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false, not {value!r}")
    return value


def anything(name: str, value: Any) -> Any:
    """Scalar values only (a camera setting value): strings, numbers, booleans."""
    if not isinstance(value, (str, int, float, bool)):
        raise BadRequest(f"{name} must be a string, number or true/false")
    return value


def int_pair(lo: int = 0, hi: int | None = None) -> Check:
    """``[a, b]`` with lo <= a <= b (<= hi): a frame range or a step range."""
    def check(name: str, value: Any) -> tuple[int, int]:
        if (not isinstance(value, list) or len(value) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
            raise BadRequest(f"{name} must be a pair of whole numbers [first, last], not {value!r}")
        a, b = value
        if a > b:
            raise BadRequest(f"{name}: first ({a}) is after last ({b})")
        _bounds(name, a, lo, hi)
        _bounds(name, b, lo, hi)
        return a, b
    return check


def _bounds(name: str, value: float, lo: float | None, hi: float | None) -> None:
    if lo is not None and value < lo:
        raise BadRequest(f"{name} must be at least {lo}, not {value!r}")
    if hi is not None and value > hi:
        raise BadRequest(f"{name} must be at most {hi}, not {value!r}")
