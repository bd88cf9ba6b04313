"""Checking JSON bodies: the body must be a JSON object; its values go through tether.checks' rules,
so unknown keys, wrong types and out-of-range values give a 400 naming the key, worded as the CLI
words them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request

from tether.checks import Rule, checked
from tether.web.errors import BadRequest


@dataclass(frozen=True)
class Field:
    check: Rule
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
    required = [name for name, spec in fields.items() if spec.required]
    given = checked(json_object(), {name: spec.check for name, spec in fields.items()}, "request", required=required)
    return {name: given.get(name, spec.default) for name, spec in fields.items()}
