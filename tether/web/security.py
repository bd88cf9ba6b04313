"""Access control for every request (pages, REST, MJPEG and the Socket.IO handshake).

One WSGI middleware checks, before Flask or Socket.IO see a request:
- the Host header, when bound to loopback (a web page cannot reach us by rebinding its DNS
  name to 127.0.0.1);
- the token, when bound to anything but loopback (cookie ``tether_token``, ``Authorization:
  Bearer``, or ``?token=`` which sets the cookie and redirects to the clean URL);
- cross-origin requests: an ``Origin`` that is not our own, or ``Sec-Fetch-Site: cross-site``,
  is refused, so other sites can neither call the API nor embed the live view.
"""
from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from tether.config import LOOPBACK_NAMES, is_loopback_host

COOKIE = "tether_token"
#: How long the browser keeps the token cookie: 400 days, the longest browsers honour (RFC 6265bis),
#: so "open the URL once" holds for a configured token; a generated one changes at each start anyway.
COOKIE_MAX_AGE = 400 * 24 * 3600
#: Shorter configured tokens are guessable: ``tether serve`` warns (new_token() makes 32 characters).
MIN_TOKEN_LENGTH = 16

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


def new_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class AccessPolicy:
    """What the middleware enforces: a token (or none, on loopback) and the allowed Host names."""

    token: str
    port: int
    loopback: bool

    @classmethod
    def for_bind(cls, host: str, port: int, token: str) -> AccessPolicy:
        loopback = is_loopback_host(host)
        return cls(token="" if loopback and not token else token, port=port, loopback=loopback)

    def token_ok(self, candidate: str | None) -> bool:
        if not self.token:
            return True
        return candidate is not None and hmac.compare_digest(candidate.encode(), self.token.encode())

    def host_ok(self, host_header: str) -> bool:
        """On loopback only our own names are acceptable Host headers (DNS rebinding defence)."""
        if not self.loopback:
            return True
        name = _host_name(host_header)
        return name in LOOPBACK_NAMES

    def check(self, environ: Environ) -> tuple[int, str] | None:
        """None if the request may proceed, else (HTTP status, reason)."""
        host = environ.get("HTTP_HOST", "")
        if not self.host_ok(host):
            return 403, f"host {host!r} is not this server's name; open it as http://127.0.0.1:{self.port}/"
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and not same_origin(origin, environ):
            return 403, "cross-origin requests are refused"
        if environ.get("HTTP_SEC_FETCH_SITE") == "cross-site":
            return 403, "cross-site requests are refused"
        if not self.token_ok(request_token(environ)):
            return 401, "this tether server needs its access token: open the URL it printed at start (…/?token=…)"
        return None


def _host_name(host_header: str) -> str:
    text = host_header.strip().lower()
    if text.startswith("["):
        return text[: text.find("]") + 1] if "]" in text else text
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def same_origin(origin: str, environ: Environ) -> bool:
    scheme = environ.get("wsgi.url_scheme", "http")
    return origin.lower() == f"{scheme}://{environ.get('HTTP_HOST', '')}".lower()


def request_token(environ: Environ) -> str | None:
    """The token a request carries: Authorization header, cookie, or query parameter."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    for part in environ.get("HTTP_COOKIE", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            return value
    query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    return query.get("token")


class SecurityMiddleware:
    """Wraps the whole WSGI app (Flask and Socket.IO) and refuses requests the policy forbids."""

    def __init__(self, app: Callable[[Environ, StartResponse], Iterable[bytes]], policy: AccessPolicy) -> None:
        self.app = app
        self.policy = policy

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        refusal = self.policy.check(environ)
        if refusal is not None:
            return _refuse(environ, start_response, *refusal)
        if self.policy.token and environ.get("REQUEST_METHOD") == "GET":
            query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
            if any(k == "token" for k, _ in query) and _wants_html(environ):
                return _set_cookie_and_redirect(environ, start_response, self.policy.token, query)
        return self.app(environ, start_response)


def _wants_html(environ: Environ) -> bool:
    return "text/html" in environ.get("HTTP_ACCEPT", "")


def _set_cookie_and_redirect(environ: Environ, start_response: StartResponse, token: str,
                             query: list[tuple[str, str]]) -> Iterable[bytes]:
    """Trade ``?token=`` for an HttpOnly cookie so the token leaves the address bar and history."""
    rest = urlencode([(k, v) for k, v in query if k != "token"])
    location = same_origin_path(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "/")) + (
        f"?{rest}" if rest else "")
    start_response("303 See Other", [
        ("Location", location),
        ("Set-Cookie", f"{COOKIE}={token}; Path=/; Max-Age={COOKIE_MAX_AGE}; HttpOnly; SameSite=Strict"),
        ("Content-Length", "0"),
        ("Cache-Control", "no-store"),
    ])
    return [b""]


def same_origin_path(path: str) -> str:
    """``path`` (a decoded WSGI path) as a Location that stays on this origin, else ``/``.

    Browsers read ``//host/...`` and ``/\\host/...`` as another host, and drop tabs and line breaks
    before reading, so only a path with one leading ``/`` and no backslash qualifies; what is left
    is percent-encoded (control characters included) so the browser reads it as we checked it."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return quote(path.encode("latin-1", "replace"), safe="/-._~!$&'()*+,;=:@")


def _refuse(environ: Environ, start_response: StartResponse, status: int, reason: str) -> Iterable[bytes]:
    title = {401: "401 Unauthorized", 403: "403 Forbidden"}[status]
    if _wants_html(environ):
        body = (f"<!doctype html><title>tether: {title}</title><h1>{title}</h1><p>{_escape(reason)}</p>").encode()
        ctype = "text/html; charset=utf-8"
    else:
        body = json.dumps({"error": reason}).encode()
        ctype = "application/json"
    start_response(title, [("Content-Type", ctype), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")])
    return [body]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

