"""CLI layer: ``--batch FILE`` -- one JSON request per line in, one JSON result per line out, in order.

A line is untrusted input: whatever it holds (bytes that are not UTF-8, half a surrogate pair, a ``k`` of
1e309, a field of the wrong type), it gets its own error object and the run goes on.

Each command's line format is a :class:`LineFormat` in :data:`FORMATS`: the keys it takes and which are
required. Lines are checked by the service's request models (a wrong, missing or unknown key is named);
the format writes the ``--batch`` help and a refused line's hint, and is what the README's table shows
(tests keep it in step with the models and the README).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

from fashrec.cli.output import dumps, to_jsonable
from fashrec.errors import FashrecError, UsageError
from fashrec.service.requests import SHAPES, encodable


MAX_K, MAX_STEPS, MAX_OFFSET = 1000, 50, 100_000   # the bounds of -k, --max-steps and --offset, and of a line's
# key -> what the README and the help call its value. Lines are checked by the service's request models
# (fashrec.service.schema, which a test keeps these keys in step with); this is how they are written down.
KEYS: dict[str, str] = {
    "text": '"TEXT"',
    "image": '"PATH"',
    "id": '"SKU"',
    "k": f"N (1-{MAX_K})",
    "offset": f"N (0-{MAX_OFFSET})",
    "sort": '"relevance"|"price"|"-price"',
    "where": SHAPES["where"],
    "strategy": '"ammr"|"image"|"text"|"fusion"',
    "max_steps": f"N (1-{MAX_STEPS})",
    "ask_below": "C (0-1)",
    "strict": "true",
    "relax": "[N, ...]",
    "anchor": '{"ATTR": "VALUE"}',
    "session": '"NAME"',
    "pick": "N",
    "previous": "a plan object",
    "no_profile": "true",
    "profile": '{"budget": N, "size": "M", ...}',
}


@dataclass(frozen=True)
class LineFormat:
    """What one ``--batch`` line of a command holds: keys it needs, one of ``either``, the optional ones."""

    command: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = field(default=())
    either: tuple[str, ...] = field(default=())

    def keys(self) -> tuple[str, ...]:
        return self.required + self.either + self.optional

    def describe(self) -> str:
        """``{"text": "TEXT"}, optional "k": N (1-1000), ...``: the format as the README shows it."""
        head = ("{" + ", ".join(f'"{k}": {KEYS[k]}' for k in self.required) + "}") if self.required else ""
        if self.either:
            head += " or ".join("{" + f'"{k}": {KEYS[k]}' + "}" for k in self.either)
        if not self.optional:
            return head
        return head + ", optional " + ", ".join(f'"{k}": {KEYS[k]}' for k in self.optional)


PAGING = ("k", "offset", "sort")
PERSONAL = ("no_profile", "profile")
FORMATS: dict[str, LineFormat] = {
    "search": LineFormat("search", ("text",), ("image",) + PAGING + ("where", "strict", "relax") + PERSONAL),
    "similar": LineFormat("similar", (), PAGING + ("where",) + PERSONAL, either=("image", "id")),
    "refine": LineFormat("refine", (), ("text",) + PAGING + ("strategy", "max_steps", "ask_below", "strict",
                                                            "relax", "anchor", "session", "pick") + PERSONAL, either=("image", "id")),
    "plan": LineFormat("plan", ("text",), ("anchor", "previous")),
}


def batch_help(command: str) -> str:
    return (f"Read one JSON request per line from FILE ('-' for stdin), write one JSON result per line. "
            f"A line: {FORMATS[command].describe()}.")


def iter_batch(source: Path) -> Iterator[tuple[int, dict[str, Any] | FashrecError]]:
    """Yield (line number, request or error) for each non-empty line of a JSONL batch file.

    Error messages leave the file and line out: :func:`run_batch` puts them in front of every line's error.
    """
    if str(source) == "-":
        yield from _requests(sys.stdin.buffer)
        return
    if not source.exists():
        raise UsageError(f"batch file not found: {source}")
    if source.is_dir():
        raise UsageError(f"batch file {source} is a folder", hint="give --batch a JSONL file, or - for stdin")
    try:
        stream = source.open("rb")
    except OSError as exc:
        raise UsageError(f"cannot read the batch file {source}: {exc.strerror or exc}") from None
    with stream:
        yield from _requests(stream)


def _requests(stream: BinaryIO) -> Iterator[tuple[int, dict[str, Any] | FashrecError]]:
    for number, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            yield number, UsageError(f"not valid UTF-8 (byte {exc.start})")
            continue
        if not line:
            continue
        try:
            request = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, UsageError(f"malformed JSON: {exc.msg} (column {exc.colno})")
            continue
        except (ValueError, RecursionError):
            yield number, UsageError("a JSON value too large or too deeply nested")
            continue
        if not isinstance(request, dict):
            yield number, UsageError("a request must be a JSON object")
            continue
        if "\\ud" in line.lower() and not encodable(request):
            yield number, UsageError("contains an unpaired UTF-16 surrogate escape (\\udXXX), which is not "
                                     "valid Unicode")
            continue
        yield number, request


def run_batch(source: Path, handle: Callable[[dict[str, Any]], Any], command: str | None = None) -> int:
    """Answer each batch line in order; a bad line gets an error object, the run goes on.

    ``command`` names the line format (:data:`FORMATS`) a refused line's hint shows. A line's error
    names the file and line as every bad input does (``requests.jsonl:2: field 'sort': ...``, and
    ``path``, with ``field`` when one is to blame). Returns the number of lines that failed (the caller
    decides the exit code).
    """
    failures = 0
    line_format = FORMATS.get(command or "")
    for number, request in iter_batch(source):
        if isinstance(request, FashrecError):
            payload, failed = {"line": number, **request.to_dict()}, True
        else:
            payload, failed = _answer(number, request, handle, line_format)
        if failed:
            payload = _located(payload, source, number)
        failures += failed
        sys.stdout.write(dumps(payload, indent=None) + "\n")
        sys.stdout.flush()
    return failures


def _answer(number: int, request: dict[str, Any], handle: Callable[[dict[str, Any]], Any],
            line_format: LineFormat | None) -> tuple[dict, bool]:
    """(the line's output, whether it failed)."""
    try:
        return {"line": number, **to_jsonable(handle(request))}, False
    except FashrecError as err:
        error = err.to_dict()
        if line_format is not None and error.get("error") == "usage" and not error.get("hint"):
            error["hint"] = f"a {line_format.command} line: {line_format.describe()}"
        return {"line": number, **error}, True
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
        return {"line": number, "error": "usage", "message": f"bad request: {exc}"}, True
    except Exception as exc:  # a line must never end the batch; the message still names what happened
        return {"line": number, "error": "error", "message": f"this request failed: {type(exc).__name__}: {exc}"}, True


def _located(error: dict, source: Path, number: int) -> dict:
    """A line's error object, the message led by where the line is (``FILE:LINE: ``) and the file named."""
    where = "<stdin>" if str(source) == "-" else str(source)
    return {"line": number, **error, "message": f"{where}:{number}: {error.get('message', '')}",
            "path": str(source)}
