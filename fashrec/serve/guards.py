"""Server layer: what keeps the server safe whatever a client sends: the Host names it answers, a body-size
limit enforced while the body streams in, security headers on every answer (the page may load nothing from
elsewhere), and the HTTP status of each kind of fashrec error. The middleware here answers before the
application's error handlers can, so each refusal is written in fashrec's error document itself."""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any, Iterable

from starlette.datastructures import Headers
from starlette.middleware.trustedhost import TrustedHostMiddleware

from fashrec.errors import FashrecError, UsageError, shown

STATUS = {"usage": 400, "image": 400, "catalog": 400, "planner": 422, "session": 404, "forbidden": 403,
          "too-large": 413, "not-found": 404, "model": 503, "index": 503, "index-locked": 503,
          "encoder-mismatch": 503, "invalid-host": 400, "method-not-allowed": 405}

HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
                                 b"script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                                 b"form-action 'self'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def status_for(err: FashrecError) -> int:
    return STATUS.get(err.kind, 500 if err.kind == "error" else 400)


async def send_error(send, status: int, document: dict[str, Any], headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    """Answer ``document`` (an ErrorDocument) with ``status`` from a middleware, outside the application."""
    body = json.dumps(document).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


_TRUSTED = "fashrec.trusted_host"   # set in a request's scope once its Host header passed the check


class TrustedHosts:
    """Answer only requests whose Host header names one of ``hosts`` (a web page elsewhere cannot rebind a
    name onto a loopback server). Starlette's TrustedHostMiddleware decides, with its own parsing of the
    header; only its plain-text refusal is replaced, by fashrec's error document. That refusal names
    neither the hosts answered (``--host`` set them) nor more of what was sent than its host name."""

    def __init__(self, app, hosts: Iterable[str]) -> None:
        self.app = app
        self.check = TrustedHostMiddleware(self._trusted, allowed_hosts=list(hosts), www_redirect=False)

    async def _trusted(self, scope, receive, send) -> None:
        scope[_TRUSTED] = True
        await self.app(scope, receive, send)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.check(scope, receive, send)
            return

        async def refusing(message) -> None:
            if scope.get(_TRUSTED):   # the request went on: this is the application's answer
                await send(message)
            elif message["type"] == "http.response.start":   # the check's own refusal, in our words
                host = Headers(scope=scope).get("host", "")
                await send_error(send, message["status"], {
                    "error": "invalid-host",
                    "message": f"this server does not answer requests for the host {shown(host)} (the Host header)",
                    "hint": "it answers only the host names it was started with (fashrec serve --host ADDR, "
                            "--trusted-host NAME): open it at one of those"})

        await self.check(scope, receive, refusing)


_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
HOST_HINT = ("a host name or IP address as a browser's address bar shows it, without http://, port or path: "
             "--trusted-host shop.lan, --trusted-host 192.168.1.20 or --trusted-host '*.example.com'")


def host_pattern(name: str, *, given_as: str = "--trusted-host") -> str:
    """``name`` as :class:`TrustedHosts` matches a Host header: lower case, an IPv6 address in brackets (as
    Starlette reads the header), ``*.example.com`` for any name under example.com. A URL, a port or a path
    is refused rather than kept: it could never equal a Host header's name, so the server would refuse the
    very host it was told to answer, and say nothing until a browser tried."""
    text = name.strip().lower()

    def refuse(problem: str) -> UsageError:
        said = name if len(name) <= 60 else name[:57] + "..."   # a long value is not echoed back whole
        return UsageError(f"{given_as} expects a bare host name, got '{said}': {problem}", hint=HOST_HINT)

    if not text:
        raise refuse("it is empty")
    if "://" in text:
        raise refuse("leave out the scheme")
    if "/" in text:
        raise refuse("a host name has no path")
    if text == "*":   # Starlette's "answer anything": the very rebinding the check is there to stop
        raise refuse("'*' would answer any Host header; name the hosts")
    try:
        return f"[{ipaddress.IPv6Address(text.removeprefix('[').removesuffix(']'))}]"
    except ValueError:
        pass
    if text.startswith("["):
        raise refuse("not an IPv6 address, or one with a port (give [::1] or ::1, no port)")
    if ":" in text:
        raise refuse("a host name has no port (the server answers it on the port it listens on)")
    labels = text.removeprefix("*.").split(".")
    if not all(_LABEL.fullmatch(label) for label in labels) or len(text) > 253:
        raise refuse("a host name is letters, digits and hyphens between dots (a leading '*.' stands for any "
                     "name under a domain)")
    if all(label.isdigit() for label in labels):
        try:
            return str(ipaddress.IPv4Address(text))
        except ValueError:
            raise refuse("not an IPv4 address") from None
    return text


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuse (413) any request whose body exceeds ``max_bytes``: by its Content-Length up front, and by
    counting while it streams, so a chunked upload cannot fill the disk either."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge()
            return message

        async def tracked(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send) -> None:
        await send_error(send, 413, {"error": "too-large", "message": f"the request body is larger than this server "
                                     f"accepts ({self.max_bytes // 1024} KiB)", "field": "request"},
                         [(b"connection", b"close")])


class SecurityHeaders:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *HEADERS]}
            await send(message)

        await self.app(scope, receive, with_headers)
