"""Server layer: what a request body may bring in -- a JSON document, an uploaded photo, a path.

- JSON bodies are parsed with the request models of :mod:`fashrec.service.schema` (the ``--batch`` lines).
- An upload (``multipart/form-data``: the photo as part ``image``, the rest of the request as a JSON
  part ``request``) is size-limited, kept only in the server's own temporary folder under a name made
  from its bytes, and decoded with the catalog's safe loader before any model sees it.
- ``{"image": PATH}`` is honoured only for files under a folder the server was started with
  (``--allow-images``), after symbolic links are resolved.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from fashrec.catalog.images import load_rgb
from fashrec.errors import FashrecError, ImageError, RequestError
from fashrec.service.requests import encodable
from fashrec.service.schema import read_request

M = TypeVar("M", bound=BaseModel)
CHUNK = 1 << 16
MAX_LABEL = 200


class _Refusal(FashrecError):
    """A refusal that is not a bad request's 400 but still names the part of the request to blame (``field``),
    so every 4xx reads alike."""

    exit_code = 2

    def __init__(self, message: str, *, field: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.field = field

    def to_dict(self) -> dict:
        return {**super().to_dict(), "field": self.field}


class TooLarge(_Refusal):
    """A body or upload above the server's limit (HTTP 413)."""

    kind = "too-large"


class Forbidden(_Refusal):
    """A path outside the folders the server may read (HTTP 403)."""

    kind = "forbidden"


@dataclass
class Body:
    """A parsed request and the image it brought, if any (a vetted path and the name to show for it)."""

    request: Any
    image: Path | None = None
    label: str | None = None


class UploadFolder:
    """The server's private temporary folder for uploads; removed when the server stops."""

    def __init__(self, max_kept: int) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="fashrec-serve-"))
        self.max_kept = max_kept
        self._lock = threading.Lock()

    def keep(self, data: bytes) -> Path:
        """Store ``data`` under its sha256 (the same photo twice is one file); drop the oldest beyond the cap."""
        target = self.path / (hashlib.sha256(data).hexdigest() + ".upload")
        with self._lock:
            if not target.exists():
                partial = target.with_suffix(".partial")
                partial.write_bytes(data)
                partial.replace(target)
            target.touch()
            kept = sorted(self.path.glob("*.upload"), key=lambda p: p.stat().st_mtime)
            for old in kept[:max(0, len(kept) - self.max_kept)]:
                old.unlink(missing_ok=True)
        return target

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def clean_label(name: str | None) -> str:
    """The uploaded file's own name, for showing only (never used as a path)."""
    text = "".join(ch for ch in (name or "") if ch.isprintable()).strip()
    return text[:MAX_LABEL] or "upload"


def allowed_path(raw: str, folders: tuple[Path, ...]) -> Path:
    """``raw`` as a file under one of ``folders`` (links resolved first), else a Forbidden error."""
    if not folders:
        raise Forbidden("this server reads no image paths: upload the photo, or name a catalog product 'id'",
                        field="image", hint="start the server with --allow-images FOLDER to let requests name "
                        "files in it")
    try:
        path = Path(raw).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):
        raise Forbidden(f"image path refused: {raw}", field="image") from None
    if not any(path.is_relative_to(folder) for folder in folders):
        raise Forbidden(f"image path is outside the allowed folders: {raw}", field="image",
                        hint="allowed: " + ", ".join(str(f) for f in folders))
    return path


async def read_body(request: Request, model: type[M], folders: tuple[Path, ...], uploads: UploadFolder,
                    max_bytes: int) -> Body:
    """The request document of a JSON or multipart body, with its image vetted."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        return await _read_upload(request, model, uploads, max_bytes)
    if kind != "application/json":
        raise RequestError("send the request as application/json (or multipart/form-data with an 'image' file)",
                           field="content-type")
    parsed = read_request(model, _document(await request.body(), "JSON body"))
    raw = getattr(parsed, "image", None)
    if raw is None:
        return Body(parsed)
    return Body(parsed, allowed_path(raw, folders), raw)


async def _read_upload(request: Request, model: type[M], uploads: UploadFolder, max_bytes: int) -> Body:
    try:
        form = await request.form(max_files=1, max_fields=8, max_part_size=64 * 1024)
    except HTTPException as exc:   # starlette's limits on a form (too many files or parts, a part too large)
        raise RequestError(f"the form cannot be read: {exc.detail}", field="request") from None
    try:
        extra = sorted(set(form.keys()) - {"image", "request"})
        if extra:
            raise RequestError(f"unknown form part(s): {', '.join(extra)} (send 'image' and 'request')",
                               field=extra[0])
        raw = form.get("request") or "{}"
        if not isinstance(raw, str):   # sent as a file: json.loads would fail on it with a TypeError (a 500)
            raise RequestError("form part 'request' must be the request's JSON as text, not a file", field="request")
        data = _document(raw, "JSON in form part 'request'")
        if isinstance(data, dict) and "image" in data:
            raise RequestError("send the photo as the 'image' file part, not as a path in 'request'", field="image")
        parsed = read_request(model, data)
        upload = form.get("image")
        if upload is None:
            return Body(parsed)
        if not isinstance(upload, UploadFile):
            raise RequestError("form part 'image' must be a file", field="image")
        content = await _read_limited(upload, max_bytes)
        label = clean_label(upload.filename)
    finally:
        await form.close()
    # storing and decoding a photo takes milliseconds: a worker thread, not the event loop, does it
    path = await anyio.to_thread.run_sync(_keep_checked, uploads, content, label)
    return Body(parsed, path, label)


def _document(raw: bytes | str, what: str) -> Any:
    """A body's (or the form's 'request' part's) JSON document. What is no JSON document at all -- not JSON,
    not UTF-8, nested past the parser's depth, half a surrogate pair -- is the whole request's fault
    (field 'request'), said as a --batch line's is (cli/batch.py), never a 500 nor the parser's advice."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        why = f"{exc.msg} (character {exc.pos})"
    except UnicodeDecodeError as exc:
        why = f"not valid UTF-8 (byte {exc.start})"
    except (ValueError, RecursionError):   # an integer past Python's digit limit; nesting past its depth
        why = "a JSON value too large or too deeply nested"
    else:
        if encodable(data):
            return data
        why = "an unpaired UTF-16 surrogate escape (\\udXXX), which is not valid Unicode"
    raise RequestError(f"malformed {what}: {why}", field="request")


async def _read_limited(upload: UploadFile, max_bytes: int) -> bytes:
    chunks, size = [], 0
    while chunk := await upload.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(f"the photo is larger than this server accepts ({max_bytes // 1024} KiB)", field="image")
        chunks.append(chunk)
    if not size:
        raise ImageError("the uploaded photo is empty (0 bytes)")
    return b"".join(chunks)


def _keep_checked(uploads: UploadFolder, content: bytes, label: str) -> Path:
    """Store the upload, then decode it once with the safe loader; errors name the upload, not the folder."""
    path = uploads.keep(content)
    try:
        load_rgb(path).close()
    except ImageError as exc:
        path.unlink(missing_ok=True)
        raise ImageError(exc.message.replace(str(path), label), hint=exc.hint) from None
    return path
