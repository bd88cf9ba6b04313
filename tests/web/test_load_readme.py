"""The limits the README states are the ones in the code (issue 15): a changed constant fails here until
the README says the same."""
from __future__ import annotations

import re
from pathlib import Path

from tether.camera.sim.camera import FRAME_CACHE_BYTES
from tether.camera.sim.optics import LayerCache
from tether.engine.bursts import INDEX_CACHE
from tether.imagebytes import MAX_FRAME_PIXELS
from tether.web import socketio
from tether.web.serving import API_SHARE
from tether.web.validation import MAX_JSON_DEPTH

README = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8").split())
KB, MB = 1024, 1024 * 1024


def stated(pattern: str) -> list[int]:
    """Every number the README gives where ``pattern`` (one group) matches; at least one."""
    found = [int(n) for n in re.findall(pattern, README, flags=re.IGNORECASE)]
    assert found, f"the README no longer says {pattern!r}"
    return found


def test_the_largest_frame_is_stated_as_the_code_checks_it() -> None:
    assert stated(r"largest frame tether decodes is (\d+) megapixels") == [MAX_FRAME_PIXELS // 1_000_000] * 2


def test_the_request_limits_are_stated_as_the_server_applies_them(app) -> None:  # type: ignore[no-untyped-def]
    # ``app`` binds socketio to an app made as the server makes it
    assert stated(r"limited to (\d+) kB \(413") == [app.config["MAX_CONTENT_LENGTH"] // KB]
    assert stated(r"to (\d+) levels of nested arrays and objects") == [MAX_JSON_DEPTH]
    assert stated(r"Socket\.IO messages to (\d+) kB") == [socketio.server.eio.max_http_buffer_size // KB]


def test_the_share_of_the_api_during_capture_is_stated_as_it_is() -> None:
    assert stated(r"the API gets at most (\d+) % of the time") == [round(API_SHARE * 100)]
    assert stated(r"the next waits (\d+)\*t\*") == [round((1 - API_SHARE) / API_SHARE)]


def test_the_memory_the_server_holds_is_stated_as_the_caches_are_bounded() -> None:
    assert stated(r"blurred scene layers, at most (\d+) MB") == [LayerCache().max_bytes // MB]
    assert stated(r"recent frames, at most (\d+) MB") == [FRAME_CACHE_BYTES // MB]
    assert stated(r"up to (\d+) focus indexes") == [INDEX_CACHE]
