"""CLI layer: ``--batch FILE`` -- one JSON request per line in, one JSON result per line out, in order."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from fashrec.cli.output import to_jsonable
from fashrec.errors import FashrecError, UsageError


def iter_batch(source: Path) -> Iterator[tuple[int, dict[str, Any] | FashrecError]]:
    """Yield (line number, request or error) for each non-empty line of a JSONL batch file."""
    if str(source) == "-":
        stream: Iterable[str] = sys.stdin
    else:
        if not source.exists():
            raise UsageError(f"batch file not found: {source}")
        stream = source.open(encoding="utf-8", errors="replace")
    for number, line in enumerate(stream, start=1):
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, UsageError(f"line {number}: malformed JSON: {exc.msg}")
            continue
        if not isinstance(request, dict):
            yield number, UsageError(f"line {number}: a request must be a JSON object")
            continue
        yield number, request


def run_batch(source: Path, handle: Callable[[dict[str, Any]], Any]) -> int:
    """Answer each batch line in order; a bad line gets an error object, the run goes on.

    Returns the number of lines that failed (the caller decides the exit code).
    """
    failures = 0
    for number, request in iter_batch(source):
        if isinstance(request, FashrecError):
            payload = {"line": number, **request.to_dict()}
            failures += 1
        else:
            try:
                payload = {"line": number, **to_jsonable(handle(request))}
            except FashrecError as err:
                payload = {"line": number, **err.to_dict()}
                failures += 1
            except (TypeError, ValueError, KeyError) as exc:
                payload = {"line": number, "error": "usage", "message": f"bad request: {exc}"}
                failures += 1
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return failures
