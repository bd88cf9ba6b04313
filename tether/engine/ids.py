"""Identifiers the server hands out for bursts, exports and jobs: requests name things by these, never by path."""
from __future__ import annotations

import re
import secrets
import time

from tether.errors import NotFound

#: A safe id: starts with a letter or digit, then letters, digits, '-' or '_'. No dots, no slashes,
#: so joining it to a folder can never leave that folder.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,95}$")


class UnknownId(NotFound):
    """A request named a burst, export or job that does not exist (or a malformed id)."""


def new_id(now: float | None = None) -> str:
    """A sortable, unguessable id like ``20261129-052233-3f9a1c``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    return f"{stamp}-{secrets.token_hex(3)}"


def check_id(text: str, what: str = "id") -> str:
    """``text`` if it is a well-formed id, else UnknownId naming it."""
    if not isinstance(text, str) or not _ID.match(text):
        raise UnknownId(f"{what} {text!r} is not a valid id", hint="ids contain only letters, digits, '-' and '_'")
    return text


def is_valid_id(text: str) -> bool:
    return isinstance(text, str) and bool(_ID.match(text))
