"""CLI layer: ``--server URL`` (or ``$FASHREC_SERVER``): send a command's request to a running ``fashrec serve``.

The request is the command's ``--batch`` line, the answer its ``--json`` document, so the output is the
same as answering locally, without loading any model. A local image is uploaded (named as it was given);
the local profile travels with the request, so the server's own profile does not apply. A failure comes
back as the error the server names, with that error's exit code.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from fashrec import errors
from fashrec.catalog.images import check_image_file
from fashrec.errors import FashrecError, FashrecIndexError, RequestError, UsageError
from fashrec.profile import Profile
from fashrec.settings import server_from_env

TIMEOUT_S = 300
EXIT_CODES = {cls.kind: cls.exit_code for cls in vars(errors).values()
              if isinstance(cls, type) and issubclass(cls, FashrecError)}
EXIT_CODES.update({"forbidden": 2, "too-large": 2, "not-found": 2, "method-not-allowed": 2, "internal": 1})


class RemoteError(FashrecError):
    """An error the server answered, kept with its kind so the command reports it as a local one."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(str(payload.get("message") or "the server gave no reason"), hint=payload.get("hint"))
        self.kind = str(payload.get("error") or "error")
        self.exit_code = EXIT_CODES.get(self.kind, 1)
        self.payload = payload

    def to_dict(self) -> dict:
        return dict(self.payload)


def server_url(option: str | None) -> str | None:
    """``--server`` if given, else ``$FASHREC_SERVER``; None means answer locally."""
    url = option or server_from_env()
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--server must be an http(s) URL, got '{url}'", hint="for example http://127.0.0.1:8000")
    return url.rstrip("/")


def with_profile(request: dict[str, Any], profile: Profile | None) -> dict[str, Any]:
    """The request carrying this machine's profile (or none), so the server answers as this command would."""
    if profile is None:
        return {**request, "no_profile": True}
    data = profile.to_dict()
    data.pop("version", None)
    return {**request, "profile": data}


def post(url: str, route: str, request: dict[str, Any], image: Path | None = None) -> dict[str, Any]:
    """POST ``request`` (with ``image`` uploaded) to ``url + route``; the answer document."""
    if image is None:
        body, kind = json.dumps(request).encode(), "application/json"
    else:
        body, kind = _multipart(request, image)
    # urllib.request pulls in http.client, email, ssl and socket (~30 ms): only a --server run pays it.
    import urllib.request

    call = urllib.request.Request(url + route, data=body, method="POST", headers={"content-type": kind})
    return _answer(url, call)


def _multipart(request: dict[str, Any], image: Path) -> tuple[bytes, str]:
    check_image_file(Path(image))   # the same "image not found" as answering locally
    try:
        content = Path(image).read_bytes()
    except OSError as exc:
        raise errors.ImageError(f"image not readable: {image} ({exc.strerror})") from None
    boundary = uuid.uuid4().hex
    name = str(image).replace('"', "%22").replace("\r", "").replace("\n", "")
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="request"\r\n'
        f"Content-Type: application/json\r\n\r\n".encode() + json.dumps(request).encode() + b"\r\n",
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ]
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _answer(url: str, call: Any) -> dict[str, Any]:
    """The document the server answered ``call`` (a ``urllib.request.Request``) with."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(call, timeout=TIMEOUT_S) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            payload = json.loads(exc.read())
        except ValueError:
            payload = {"error": "internal", "message": f"the server answered HTTP {exc.code} without a document"}
        raise RemoteError(payload) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FashrecIndexError(f"cannot reach the fashrec server at {url} ({reason})",
                                hint="start one with: fashrec serve --index DIR, or drop --server") from None
    except ValueError:
        raise FashrecIndexError(f"the server at {url} did not answer JSON: is it a fashrec server?") from None


def post_line(url: str, route: str, defaults: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
    """A --batch line answered by the server; its image (a local file) is uploaded."""
    line = dict(line)
    image = line.pop("image", None)
    if image is not None and not isinstance(image, str):
        raise RequestError.of_field("image", "must be a string", image)   # as a line answered here says it
    base = {k: v for k, v in defaults.items() if not (k in ("profile", "no_profile") and
                                                      ("profile" in line or "no_profile" in line))}
    return post(url, route, {**base, **line}, Path(image) if image else None)
