"""File names from a session's naming template: ``{session}-{date}-{seq:04}`` -> ``acme-20261207-0042``.

Pure functions: :func:`parse_template` checks a template once (when it is set), :func:`render` fills it
in for one capture. A name is also an id the server hands out (tether.engine.ids), so it is made of
letters, digits, '-' and '_' only: a template can never name a file outside its session's folder.
"""
from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass

from tether.engine.ids import is_valid_id
from tether.errors import InvalidInput

#: The tokens a template may use, and what each stands for (the panel and the CLI show this).
TOKENS = {
    "session": "the session's name",
    "date": "the capture's date, YYYYMMDD",
    "time": "the capture's time, HHMMSS",
    "seq": "the session's counter, never reused; {seq:04} pads it to 4 digits",
    "camera": "the camera's model",
    "subject": "the barcode / SKU typed or scanned into the panel",
}
DEFAULT_TEMPLATE = "{session}-{date}-{seq:04}"
#: A token's value is cut to this length, so that a long barcode or model name leaves room for the rest.
MAX_VALUE = 32

_TOKEN = re.compile(r"\{([^{}]*)\}")
_SEQ_WIDTH = re.compile(r"^seq(?::0?([1-9]))?$")
_LITERAL = re.compile(r"^[A-Za-z0-9_-]*$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class TemplateError(InvalidInput):
    """A naming template that cannot be used: an unknown token, or text that could name another folder."""


@dataclass(frozen=True)
class Template:
    """A checked template: literal text and tokens in order; ``seq_width`` is how {seq} is padded."""

    text: str
    parts: tuple[tuple[str, str], ...]  # ("text", literal) or ("token", name)
    seq_width: int


@dataclass(frozen=True)
class Fields:
    """What the tokens of one capture stand for."""

    session: str
    seq: int
    camera: str = ""
    subject: str = ""
    when: float | None = None


def parse_template(text: str) -> Template:
    """``text`` checked; TemplateError names the first problem (an unknown token, '/', '..', no {seq})."""
    if not isinstance(text, str) or not text.strip():
        raise TemplateError("the naming template is empty", hint=f"for example {DEFAULT_TEMPLATE}")
    if "/" in text or "\\" in text or ".." in text:
        raise TemplateError(f"the naming template {text!r} would name a file outside the session",
                            hint="'/', '\\' and '..' are not allowed; names stay in the session's folder")
    parts: list[tuple[str, str]] = []
    seq_width = 0
    pos = 0
    for match in _TOKEN.finditer(text):
        parts.append(("text", _literal(text, text[pos:match.start()])))
        token = match.group(1)
        seq = _SEQ_WIDTH.match(token)
        if seq:
            seq_width = int(seq.group(1) or 1)
            parts.append(("token", "seq"))
        elif token in TOKENS:
            parts.append(("token", token))
        else:
            raise TemplateError(f"unknown token {{{token}}} in the naming template {text!r}",
                                hint="the tokens are " + ", ".join(f"{{{t}}}" for t in TOKENS))
        pos = match.end()
    parts.append(("text", _literal(text, text[pos:])))
    if not seq_width:
        raise TemplateError(f"the naming template {text!r} has no {{seq}}",
                            hint="the counter is what keeps two captures from getting one name")
    return Template(text, tuple(p for p in parts if p[1]), seq_width)


def _literal(template: str, literal: str) -> str:
    if not _LITERAL.match(literal):
        raise TemplateError(f"the naming template {template!r} has {literal!r} in it",
                            hint="outside the tokens only letters, digits, '-' and '_' are allowed")
    return literal


def clean_value(value: str) -> str:
    """A token's value as a piece of a file name: accents dropped (Müller -> Muller), runs of other characters
    made one '-', cut to MAX_VALUE."""
    ascii_value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return _UNSAFE.sub("-", ascii_value).strip("-_")[:MAX_VALUE].strip("-_")


def folded(text: str) -> str:
    """``text`` for comparing as a person reads it: case and accents ignored ("Café" matches "cafe"), other
    letters (東京) kept."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def render(template: Template, fields: Fields) -> str:
    """The file name (without suffix) ``template`` gives for ``fields``; an empty token leaves no stray '-'."""
    now = time.localtime(time.time() if fields.when is None else fields.when)
    values = {
        "session": clean_value(fields.session), "camera": clean_value(fields.camera),
        "subject": clean_value(fields.subject),
        "date": time.strftime("%Y%m%d", now), "time": time.strftime("%H%M%S", now),
        "seq": f"{fields.seq:0{template.seq_width}d}",
    }
    name = "".join(values[part] if kind == "token" else part for kind, part in template.parts)
    name = re.sub(r"([-_])[-_]+", r"\1", name).strip("-_")  # where an empty token was
    if not is_valid_id(name):
        raise TemplateError(f"the naming template {template.text!r} gives {name!r}, which is not a usable name",
                            hint="names are 1-96 letters, digits, '-' and '_'")
    return name
