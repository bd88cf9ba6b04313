"""Naming templates (tether.engine.naming): what each token gives, and the templates that are refused
with one clear error: an unknown token, a way out of the session's folder, no counter."""
from __future__ import annotations

import os
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tether.engine.ids import is_valid_id
from tether.engine.naming import Fields, TemplateError, parse_template, render

#: 7 December 2026, 14:05:09 local time.
WHEN = time.mktime((2026, 12, 7, 14, 5, 9, 0, 0, -1))


def name(template: str, **fields: object) -> str:
    values: dict[str, object] = {"session": "Acme", "seq": 42, "when": WHEN, **fields}
    return render(parse_template(template), Fields(**values))  # type: ignore[arg-type]


def test_every_token_fills_in() -> None:
    got = name("{session}_{date}_{time}_{camera}_{subject}_{seq:04}", camera="DMC-GX8", subject="4006381333931")
    assert got == "Acme_20261207_140509_DMC-GX8_4006381333931_0042"


def test_the_counter_is_padded_as_asked() -> None:
    assert name("{seq}") == "42"
    assert name("{seq:3}") == "042"
    assert name("shot-{seq:06}") == "shot-000042"
    assert name("{seq:2}", seq=12345) == "12345"  # a wider number is never cut


def test_values_become_safe_file_name_pieces() -> None:
    # a barcode typed with a slash, a camera model with spaces and brackets
    got = name("{camera}-{subject}-{seq}", camera="tether simulated camera (macro)", subject="SKU 12/34 ../x")
    assert got == "tether-simulated-camera-macro-SKU-12-34-x-42"
    assert is_valid_id(got)
    assert name("{session}-{seq}", session="Müller Café") == "Muller-Cafe-42"


def test_an_empty_token_leaves_no_stray_separator() -> None:
    assert name("{subject}-{session}-{seq:03}", subject="") == "Acme-042"
    assert name("{session}-{subject}-{seq:03}", subject="  ") == "Acme-042"


def test_an_unknown_token_is_one_error_naming_it_and_the_tokens() -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template("{session}-{sku}-{seq}")
    assert "{sku}" in caught.value.message
    assert "{subject}" in caught.value.hint and "{seq}" in caught.value.hint


@pytest.mark.parametrize("template", ["../{seq}", "a/{seq}", "/abs/{seq}", "{session}/../../{seq}", "..{seq}",
                                      "a\\{seq}"])
def test_a_template_that_could_leave_the_session_is_refused(template: str) -> None:
    with pytest.raises(TemplateError, match="outside the session"):
        parse_template(template)


@pytest.mark.parametrize("template", ["{session} {seq}", "{seq}.jpg", "shot:{seq}", "{seq}~"])
def test_other_characters_are_refused_by_name(template: str) -> None:
    with pytest.raises(TemplateError, match="has '"):
        parse_template(template)


def test_a_template_needs_the_counter() -> None:
    with pytest.raises(TemplateError, match=r"no \{seq\}"):
        parse_template("{session}-{date}-{time}")
    with pytest.raises(TemplateError, match="empty"):
        parse_template("  ")


@settings(max_examples=150, deadline=None)
@given(template=st.lists(st.sampled_from([*"{}:/.\\-_ aZ09", "{seq}", "{seq:04}", "{subject}", "{session}", "../",
                                          "{date}"]), max_size=12).map(lambda parts: "".join(parts) + "{seq}"),
       subject=st.text(max_size=40))
def test_any_accepted_template_names_a_file_inside_the_folder(template: str, subject: str) -> None:
    try:
        got = name(template, subject=subject)
    except TemplateError:
        return  # refused, with its message: fine
    assert is_valid_id(got)
    assert os.path.dirname(os.path.normpath(f"/data/sessions/acme/{got}.JPG")) == "/data/sessions/acme"
