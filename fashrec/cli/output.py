"""CLI layer: one output layer for people and for scripts.

stdout carries only the result (a rich rendering, or exactly one JSON document with ``--json``);
progress, warnings and errors go to stderr. In JSON mode errors are JSON too, on stderr.
"""

from __future__ import annotations

import json
import math
import sys
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from fashrec.errors import FashrecError
from fashrec.settings import progress_forced

stdout = Console(soft_wrap=False)
stderr = Console(stderr=True)


def to_jsonable(value: Any) -> Any:
    """The single serializer every ``--json`` output goes through."""
    if is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_dict"):
            return to_jsonable(value.to_dict())
        return to_jsonable(asdict(value))
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return to_jsonable(value.to_dict())
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return to_jsonable(value.item())
    return value


def dumps(value: Any, *, indent: int | None = 2) -> str:
    return json.dumps(to_jsonable(value), indent=indent, ensure_ascii=False)


def print_json(value: Any, *, indent: int | None = 2) -> None:
    sys.stdout.write(dumps(value, indent=indent) + "\n")
    sys.stdout.flush()


def emit(value: Any, *, json_mode: bool, render: Callable[[], None]) -> None:
    """Print ``value`` as JSON, or call ``render`` to show it to a person."""
    if json_mode:
        print_json(value)
    else:
        render()


def report_error(err: FashrecError, *, json_mode: bool) -> None:
    if json_mode:
        sys.stderr.write(json.dumps(err.to_dict(), ensure_ascii=False) + "\n")
    else:
        stderr.print(f"[bold red]Error:[/] {err.message}", highlight=False, markup=True)
        if err.hint:
            stderr.print(f"[dim]Hint: {err.hint}[/]", highlight=False)


@contextmanager
def handled(json_mode: bool = False) -> Iterator[None]:
    """Turn library errors into a clean message and the documented exit code."""
    try:
        yield
    except FashrecError as err:
        report_error(err, json_mode=json_mode)
        raise typer.Exit(err.exit_code) from None
    except KeyboardInterrupt:
        if json_mode:
            sys.stderr.write(json.dumps({"error": "interrupted", "message": "interrupted"}) + "\n")
        else:
            stderr.print("[red]Interrupted[/]")
        raise typer.Exit(130) from None


@contextmanager
def progress_bar(description: str, total: int | None, *, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr; yields an ``advance(n)`` callback for library code."""
    if not enabled or not stderr.is_terminal and not progress_forced():
        yield lambda n=1: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=stderr, transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)


def note(message: str) -> None:
    """A remark for the person at the terminal (stderr, never stdout)."""
    stderr.print(message, highlight=False)
