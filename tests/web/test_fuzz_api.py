"""Fuzzing every endpoint that takes a body: whatever JSON arrives (any type, nesting, size, field names
the endpoint knows and ones it does not), the answer is never a 500 and never shows a traceback or a
server path. The endpoints are read from the app's URL map, so a new one is fuzzed without editing this
file; the fields each accepts are read from its own refusal of an unknown field. Socket.IO messages
are fuzzed the same way."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

#: Values for the path's variables: the simulated camera, a real burst (filled in), a setting; any other
#: variable (a job id, or one a new endpoint brings) gets an id that names nothing.
PATH_VALUES = {"camera_id": "sim:macro", "name": "iso"}
#: How the checks in tether.checks list an endpoint's fields when refusing an unknown one.
OPTIONS = re.compile(r"the options are (.+)$")
PROBE = "\u2603-not-a-field"

#: Bodies a JSON encoder will not make: numbers past Python's digit limit, nesting past the API's,
#: the parser's non-standard words, broken and non-object texts.
RAW_BODIES = [
    b"", b" ", b"null", b"{", b"}", b"[", b"{}", b"[]", b'""', b"0", b"-0", b"1e999", b"NaN", b"-Infinity",
    b'{"a": ' + b"9" * 5000 + b"}", b"[" + b"9" * 5000 + b"]", b'{"a": 1e99999}', b'{"a": -' + b"1" * 4301 + b"}",
    b"[" * 1000, b"[" * 500 + b"]" * 500, b'{"a": ' + b"{" * 100 + b"}" * 100 + b"}", b'{"a": 1, "a": [2]}',
    b'{"\\ud800": 1}', b'"\\udfff"', b"\x00", b"\xff\xfe{", b'{"a": "\xe9"}', b'{"a": "' + b"x" * 70_000 + b'"}',
]
NANISH = st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1e999", "0x10", "1_000", " 5 ", "", "0:0",
                          "100:0", "-1:5", "5:", ":", "sim:macro", "../../etc/passwd", "/", "%00", "\u0000"])
SCALARS = (st.none() | st.booleans()
           | st.integers() | st.integers(min_value=-(10**40), max_value=10**40)
           | st.sampled_from([-1, 0, 1, 2, 2**31, 2**63, -(2**63)])
           | st.floats(allow_nan=True, allow_infinity=True)
           | NANISH | st.text(max_size=40) | st.text(min_size=200, max_size=2000))


def json_values(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=6) | st.dictionaries(keys, inner, max_size=6),
                        max_leaves=30)


def bodies(fields: list[str]) -> st.SearchStrategy[tuple[bytes, str | None]]:
    """(body bytes, Content-Type): mostly objects keyed by the endpoint's own fields, sometimes anything."""
    keys = (st.sampled_from(fields) if fields else st.nothing()) | st.text(max_size=20)
    values = json_values(keys)
    objects = st.dictionaries(keys, values, max_size=8)
    # Python's encoder writes NaN/Infinity and the server's parser reads them: both must be handled
    encoded = (objects | values).map(lambda value: json.dumps(value).encode())
    deep = st.builds(nested, keys, st.integers(0, 3000), st.sampled_from("[{"))
    content_types = st.sampled_from(["application/json"] * 6 + ["application/json; charset=latin-1", "text/plain",
                                                                  "application/x-www-form-urlencoded"]) | st.none()
    return st.tuples(encoded | deep, content_types)


def nested(key: str, depth: int, bracket: str) -> bytes:
    """``{key: [[[...]]]}`` or ``{key: {"": {"": ...}}}``, ``depth`` levels inside the object."""
    opening, closing = ("[", "]") if bracket == "[" else ('{"": ', "}")
    inner = "[]" if bracket == "[" else "{}"
    return (json.dumps({key: None})[:-5] + opening * depth + inner + closing * depth + "}").encode()


def writing_routes(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(method, rule) of every route that takes a request body."""
    return sorted((method, rule.rule) for rule in app.url_map.iter_rules()
                  for method in sorted({"POST", "PUT", "PATCH"} & set(rule.methods or ())))


def accepted_fields(client, method: str, path: str) -> list[str] | None:  # type: ignore[no-untyped-def]
    """The fields the endpoint names when refusing an unknown one; None if it took the unknown field
    (it does not read its body); [] if it refused it for another reason (the burst is busy, ...)."""
    answer = client.open(path, method=method, json={PROBE: 1})
    if answer.status_code < 400:
        return None
    match = OPTIONS.search((answer.get_json(silent=True) or {}).get("error", ""))
    return match.group(1).split(", ") if match else []


def check_answer(answer, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    text = answer.get_data(as_text=True)
    assert answer.status_code != 500, text
    assert "Traceback" not in text and 'File "' not in text, text
    assert str(data_dir) not in text and str(Path(__file__).parents[2]) not in text, text


def test_every_body_endpoint_is_found(app) -> None:
    """The fuzz covers the endpoints the app really has (a route rename cannot make it fuzz nothing)."""
    routes = writing_routes(app)
    assert ("POST", "/api/plan") in routes and ("PUT", "/api/cameras/<camera_id>/settings/<name>") in routes
    assert len(routes) >= 9


def test_fields_are_read_from_the_endpoints(client) -> None:
    assert accepted_fields(client, "POST", "/api/plan") == ["dof", "frames", "large", "medium", "range"]
    assert "mode" in accepted_fields(client, "POST", "/api/cameras/sim:macro/sweep")


@pytest.mark.slow
def test_no_json_body_makes_a_server_error(app, burst, data_dir: Path) -> None:
    client = app.test_client()
    values = dict(PATH_VALUES, burst_id=burst(3))
    for method, rule in writing_routes(app):
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "no-such-id"), rule)
        fields = accepted_fields(client, method, path)
        if fields is None:  # it ignores its body (a refresh, a capture): the worst bodies only, no fuzzing
            for raw in (data for data in RAW_BODIES if len(data) > 1000 or data in (b"{", b"\x00")):
                send(client, method, path, raw, "application/json", data_dir)
            continue
        for raw in RAW_BODIES:
            send(client, method, path, raw, "application/json", data_dir)
        fuzz(client, method, path, fields, data_dir)


def send(client, method: str, path: str, data: bytes, content_type: str | None,  # type: ignore[no-untyped-def]
         data_dir: Path) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    check_answer(client.open(path, method=method, data=data, headers=headers), data_dir)


def fuzz(client, method: str, path: str, fields: list[str], data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    @settings(max_examples=60, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(bodies(fields))
    def send_one(body: tuple[bytes, str | None]) -> None:
        send(client, method, path, *body, data_dir)

    send_one()


def test_no_socketio_message_breaks_the_connection(sio) -> None:
    """What a browser client may send: known and unknown events with any arguments; each is answered
    or ignored, and the connection stays up (a handler's TypeError ended it without an answer)."""
    events = st.sampled_from(["snapshot", "connect", "disconnect", "message", "event"]) | st.text(max_size=20)

    @settings(max_examples=100, derandomize=True, deadline=None, database=None)
    @given(events, st.lists(json_values(st.text(max_size=10)), max_size=3))
    def emit(event: str, args: list[Any]) -> None:
        sio.emit(event, *args)
        assert sio.is_connected()

    emit()
    sio.get_received()
    assert "cameras" in sio.emit("snapshot", {"i": 0}, callback=True)
