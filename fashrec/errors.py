"""Foundation: one exception hierarchy for everything fashrec raises on purpose.

The CLI catches :class:`FashrecError` and maps each subclass to a documented exit code, so scripts can
tell "your input was bad" from "the index is broken" without parsing messages.
"""

from __future__ import annotations

import json
from typing import Any

_UNSAID = object()   # of_field: no value to quote


class FashrecError(Exception):
    """Base class of every error fashrec raises deliberately."""

    exit_code = 1
    kind = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict:
        payload = {"error": self.kind, "message": self.message}
        if self.hint:
            payload["hint"] = self.hint
        return payload


class UsageError(FashrecError):
    """The command was called in a way that cannot work (bad option values, missing arguments)."""

    exit_code = 2
    kind = "usage"


class RequestError(UsageError):
    """A request document (a ``--batch`` line, an HTTP body) with a field that cannot be: the field named."""

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.field = field

    @classmethod
    def of_field(cls, field: str, problem: str, given: Any = _UNSAID, *, hint: str | None = None,
                 place: str = "field") -> RequestError:
        """``field 'where': must be ... (got "colorred")``: every refused field reads this way, whichever
        check refused it (the request model's or a later one's); ``place``: "query parameter" for a URL's."""
        quoted = "" if given is _UNSAID else f" (got {shown(given)})"
        return cls(f"{place} '{field}': {problem}{quoted}", field=field, hint=hint)

    @classmethod
    def blaming(cls, field: str, err: UsageError) -> RequestError:
        """``err``, raised by a check that cannot know where its value came from (an anchor correction, a
        way forward's number: the command line's options reach it too), as the refusal of
        the request's ``field``: its words kept (they are the command line's too), the field named."""
        return cls(err.message, field=field, hint=err.hint)

    def to_dict(self) -> dict:
        payload = super().to_dict()
        if self.field:
            payload["field"] = self.field
        return payload


class NotFoundError(RequestError):
    """A request names something that is not there (a product id not in the index): still the caller's
    mistake, so exit code 2 as any usage error, but a server answers 404, not 400 (kind ``not-found``)."""

    kind = "not-found"

    @classmethod
    def product(cls, product_id: str) -> NotFoundError:
        """The refusal of an id no product of the index has, wherever it was given (``--id``, a request's
        ``id``, chat's first anchor): one wording, so the command line and the server say the same."""
        return cls(f"no product '{clipped(product_id)}' in the index", field="id", hint=PRODUCT_IDS_HINT)


# Where a product's id comes from, as every refusal of an unknown id says.
PRODUCT_IDS_HINT = 'a product\'s id is the "id" of a result (fashrec search "red dress" --json)'


def clipped(text: str, limit: int = 80) -> str:
    """Something a caller named (an id, part of a URL) as an error quotes it: a long one is not echoed back
    whole."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def shown(value: Any) -> str:
    """A refused value as an error quotes it: as JSON, so a script sees what it sent; cut short, so a huge
    value is not echoed back whole."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class CatalogError(FashrecError):
    """A catalog file (or one line of it) is invalid."""

    exit_code = 3
    kind = "catalog"

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.field = field
        # The product id of the bad line, when it could be read: lets the indexer keep that item's
        # previous version instead of treating it as deleted.
        self.item_id: str | None = None
        where = ":".join(str(p) for p in (path, line) if p is not None)
        prefix = f"{where}: " if where else ""
        suffix = f" (field '{field}')" if field else ""
        super().__init__(f"{prefix}{message}{suffix}", hint=hint)
        self.reason = message

    def to_dict(self) -> dict:
        payload = super().to_dict()
        payload.update({"path": self.path, "line": self.line, "field": self.field, "id": self.item_id})
        return payload


class ImageError(FashrecError):
    """An image is missing, unreadable, corrupt, too large or not an image at all."""

    exit_code = 3
    kind = "image"


class FashrecIndexError(FashrecError):
    """The index is missing, corrupt, locked, from another schema version or another encoder."""

    exit_code = 4
    kind = "index"


class IndexLockedError(FashrecIndexError):
    kind = "index-locked"


class EncoderMismatchError(FashrecIndexError):
    kind = "encoder-mismatch"


class ModelError(FashrecError):
    """An encoder or LLM model could not be found or loaded."""

    exit_code = 5
    kind = "model"


class PlannerError(FashrecError):
    """A planner produced nothing usable (callers fall back rather than crash)."""

    exit_code = 6
    kind = "planner"


class SessionError(FashrecError):
    """A dialogue session is missing or unusable."""

    exit_code = 7
    kind = "session"


class ProfileError(FashrecError):
    """The personal profile file is unreadable, from a newer fashrec, or not a file."""

    exit_code = 8
    kind = "profile"



__all__ = [
    "FashrecError",
    "UsageError",
    "RequestError",
    "NotFoundError",
    "CatalogError",
    "ImageError",
    "FashrecIndexError",
    "IndexLockedError",
    "EncoderMismatchError",
    "ModelError",
    "PlannerError",
    "SessionError",
    "ProfileError",
]
