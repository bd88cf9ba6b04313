"""Checking options from a JSON body or the command line: one set of rules, one wording.

A rule is ``rule(name, value)``: it returns the value as the caller keeps it, or raises
:class:`~tether.errors.InvalidInput` (HTTP 400, a one-line CLI error) naming the option and what it
may be. :func:`checked` runs a table of rules over a mapping and refuses keys it does not know.
"""
from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Collection, Mapping
from typing import Any

from tether.errors import InvalidInput

Rule = Callable[[str, Any], Any]


def checked(data: Mapping[str, Any] | None, rules: Mapping[str, Rule], what: str, *,
            required: Collection[str] = ()) -> dict[str, Any]:
    """``data`` without its None values (absent), every key one of ``rules``, every value through its rule."""
    given = {key: value for key, value in dict(data or {}).items() if value is not None}
    for key in given:
        if key not in rules:
            raise InvalidInput(f"unknown {what} option {key!r}: the options are {', '.join(sorted(rules))}")
    for key in required:
        if key not in given:
            raise InvalidInput(f"the {what} option {key!r} is required")
    return {key: rules[key](key, value) for key, value in given.items()}


def _span(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f" from {lo:g} to {hi:g}"
    if lo is not None:
        return f" of at least {lo:g}"
    return f" of at most {hi:g}" if hi is not None else ""


def whole(lo: int | None = None, hi: int | None = None) -> Rule:
    """A whole number in [lo, hi] (true and false are not numbers here)."""
    def check(name: str, value: Any) -> int:
        if (isinstance(value, bool) or not isinstance(value, int)
                or (lo is not None and value < lo) or (hi is not None and value > hi)):
            raise InvalidInput(f"{name} must be a whole number{_span(lo, hi)}, not {value!r}")
        return value
    return check


def number(lo: float | None = None, hi: float | None = None) -> Rule:
    """A finite number in [lo, hi], kept as a float."""
    def check(name: str, value: Any) -> float:
        if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                or (lo is not None and value < lo) or (hi is not None and value > hi)):
            raise InvalidInput(f"{name} must be a number{_span(lo, hi)}, not {value!r}")
        return float(value)
    return check


def flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false, not {value!r}")
    return value


def one_of(*allowed: str) -> Rule:
    def check(name: str, value: Any) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise InvalidInput(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
        return value
    return check


def text(max_len: int = 200, *, lines: bool = False) -> Rule:
    """Text of at most ``max_len`` characters with no control characters (a NUL cuts a name short in C code and
    file systems, others garble a page or a terminal); ``lines``: line breaks and tabs are allowed (notes)."""
    allowed = "\n\r\t" if lines else ""

    def check(name: str, value: Any) -> str:
        if not isinstance(value, str) or len(value) > max_len:
            raise InvalidInput(f"{name} must be text of at most {max_len} characters")
        control = next((c for c in value if unicodedata.category(c) == "Cc" and c not in allowed), None)
        if control is not None:
            breaks = "" if lines else " or line breaks"
            raise InvalidInput(f"{name} must be text without control characters{breaks}, not one with {control!r}")
        return value
    return check


def scalar(name: str, value: Any) -> str | int | float | bool:
    """A string, number or true/false (a camera setting's value)."""
    if not isinstance(value, (str, int, float, bool)):
        raise InvalidInput(f"{name} must be text, a number or true/false, not {type(value).__name__}")
    return value


def ordered_pair(lo: int = 0, hi: int | None = None) -> Rule:
    """``[first, last]`` whole numbers with lo <= first <= last (<= hi): a frame range."""
    def check(name: str, value: Any) -> tuple[int, int]:
        if (not isinstance(value, (list, tuple)) or len(value) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
                or not lo <= value[0] <= value[1] or (hi is not None and value[1] > hi)):
            raise InvalidInput(f"{name} must be [first, last], whole numbers with {lo} <= first <= last"
                               + (f" <= {hi}" if hi is not None else "") + f", not {value!r}")
        return value[0], value[1]
    return check
