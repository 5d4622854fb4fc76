"""Server layer: what keeps the server safe whatever a client sends: a body-size limit enforced while the
body streams in, security headers on every answer (the page may load nothing from elsewhere), and the
HTTP status of each kind of fashrec error."""

from __future__ import annotations

import json

from fashrec.errors import FashrecError

STATUS = {"usage": 400, "image": 400, "catalog": 400, "planner": 422, "session": 404, "forbidden": 403,
          "too-large": 413, "not-found": 404, "model": 503, "index": 503, "index-locked": 503,
          "encoder-mismatch": 503}

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
        body = json.dumps({"error": "too-large", "message": f"the request body is larger than this server "
                           f"accepts ({self.max_bytes // 1024} KiB)", "field": "request"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


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
