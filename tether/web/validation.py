"""Checking JSON bodies: the body must be a JSON object; its values go through tether.checks' rules,
so unknown keys, wrong types and out-of-range values give a 400 naming the key, worded as the CLI
words them."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from tether.checks import Rule, checked
from tether.web.errors import BadRequest

#: The deepest nesting of arrays and objects a body may have. Every body the API takes is a flat object
#: of scalars and short lists; a limit far below the parser's recursion limit keeps a 1 kB body of
#: ``[[[[...`` from ending in a RecursionError (a 500) instead of a 400.
MAX_JSON_DEPTH = 16

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


@dataclass(frozen=True)
class Field:
    check: Rule
    required: bool = False
    default: Any = None


def nesting_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in the JSON text ``body`` (brackets inside strings do not count)."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub(b"", body)):
        depth += 1 if bracket in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def json_object() -> dict[str, Any]:
    """The request's JSON object, unchecked ({} without a body): for options the domain validates itself."""
    # get_data, not Content-Length: a chunked body has none. The server terminates a chunked stream and
    # Werkzeug stops reading it at the app's MAX_CONTENT_LENGTH, silently: a body that reached the cap
    # was cut there, so it is refused as too large rather than parsed as a truncated (or empty) body.
    body = request.get_data(cache=True)
    limit = request.max_content_length
    if limit is not None and len(body) >= limit:
        raise RequestEntityTooLarge()
    if not body:
        return {}
    if not request.is_json:
        raise BadRequest("send the body as JSON (Content-Type: application/json)")
    if nesting_depth(body) > MAX_JSON_DEPTH:
        raise BadRequest(f"the body is nested too deeply (at most {MAX_JSON_DEPTH} levels)")
    try:
        data = request.get_json()
    except HTTPException:  # what Werkzeug raises for a body it cannot parse (``null`` parses, to None)
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def json_body(fields: dict[str, Field]) -> dict[str, Any]:
    """The request's JSON object, checked against ``fields``; absent optional keys get their default."""
    required = [name for name, spec in fields.items() if spec.required]
    given = checked(json_object(), {name: spec.check for name, spec in fields.items()}, "request", required=required)
    return {name: given.get(name, spec.default) for name, spec in fields.items()}
