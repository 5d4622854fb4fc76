"""CLI layer: one output layer for people and for scripts.

stdout carries only the result (a rich rendering, or exactly one JSON document with ``--json``);
progress, warnings and errors go to stderr. In JSON mode errors are JSON too, on stderr.
"""

from __future__ import annotations

import json
import math
import re
import sys
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import typer

from fashrec.errors import FashrecError, UsageError
from fashrec.settings import progress_forced


class LazyConsole:
    """A rich Console made on first use. rich.console and what it pulls in cost ~35-45 ms of a cold
    start; a ``--json`` answer writes its document with sys.stdout and never needs one."""

    def __init__(self, **options: Any):
        self._options = options
        self._console = None

    @property
    def console(self):
        """The Console itself (for rich objects that take one, e.g. ``Progress(console=...)``)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)


stdout = LazyConsole(soft_wrap=False)
stderr = LazyConsole(stderr=True)


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
    """JSON text that is always valid UTF-8: a string holding a lone surrogate (bytes that were not UTF-8,
    decoded with surrogateescape) is written as a \\u escape instead of raw bytes."""
    text = json.dumps(to_jsonable(value), indent=indent, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(to_jsonable(value), indent=indent, ensure_ascii=True)
    return text


# Characters that move the cursor, recolour or reorder a terminal (C0 and C1 controls, bidirectional
# overrides): in catalog or user text they are shown as escapes, never sent raw.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def literal(text: Any, *, newlines: bool = False) -> str:
    """Text that rich prints exactly as it is: markup escaped, control characters made visible.

    Everything from a catalog, a request or a path goes through this before reaching a console:
    a title "[/] ..." used to crash the renderer, and an id holding ESC [31m recoloured the terminal.
    """
    # rich only where text is rendered for a person (see LazyConsole)
    from rich.markup import escape

    return escape(visible(text, newlines=newlines))


def visible(text: Any, *, newlines: bool = False) -> str:
    """Control characters (and lone surrogates) made visible, markup left alone: for a ``rich.text.Text``,
    which never parses markup, so escaping it there would show the backslashes."""
    text = str(text)
    text = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    if not newlines:
        text = text.replace("\n", "\\n").replace("\t", " ")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")   # lone surrogates, visibly


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
        sys.stderr.write(dumps(err.to_dict(), indent=None) + "\n")
    else:
        stderr.print(f"[bold red]Error:[/] {literal(err.message, newlines=True)}", highlight=False, markup=True)
        if err.hint:
            stderr.print(f"[dim]Hint: {literal(err.hint, newlines=True)}[/]", highlight=False)


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
    # rich.progress costs ~20 ms to import: only a run that draws a bar (index, eval on a terminal) pays.
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    # On a terminal the bar is redrawn in place and vanishes when done. Forced onto a pipe (a log, a
    # test), rich cannot redraw, and a transient bar would leave nothing: it is written once, finished.
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=stderr.console, transient=stderr.is_terminal) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)


def note(message: str) -> None:
    """A remark for the person at the terminal (stderr, never stdout)."""
    stderr.print(message, highlight=False)


# -- the command line as a whole ------------------------------------------------------------------------
def run_command_line(app: typer.Typer, argv: list[str]) -> None:
    """Run ``app`` on ``argv`` so that every failure has the documented shape, parsing included.

    Arguments that are not valid UTF-8 are refused before any command sees them (they used to be echoed
    back as raw bytes, making --json output invalid). In --json (or --batch) mode, an option-parsing
    error -- ``-k 0``, ``-k ten``, an unknown option -- is the JSON error object on stderr with exit 2,
    not typer's boxed text, which people still get without --json.
    """
    json_mode = wants_json(argv)
    for position, arg in enumerate(argv, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            report_error(UsageError(f"argument {position} is not valid UTF-8: {shown}",
                                    hint="fashrec reads text, paths and options as UTF-8; rename the file "
                                         "or fix the terminal's encoding"), json_mode=json_mode)
            sys.exit(UsageError.exit_code)
    if not json_mode:
        app(args=argv, prog_name="fashrec")
        return
    try:
        code = app(args=argv, prog_name="fashrec", standalone_mode=False)
    except _CLICK_ERRORS as exc:
        context = getattr(exc, "ctx", None)
        command = context.command_path if context is not None else "fashrec"
        report_error(UsageError(exc.format_message(), hint=f"see: {command} --help"), json_mode=True)
        sys.exit(exc.exit_code)
    sys.exit(code or 0)


def wants_json(argv: list[str]) -> bool:
    """Whether the command asks for JSON output (batch output is JSON lines by definition)."""
    options = argv[:argv.index("--")] if "--" in argv else argv
    return any(a == "--json" or a == "--batch" or a.startswith("--batch=") for a in options)


# Whatever click typer runs on (its own copy in recent versions): the base of its parameter errors.
_CLICK_ERRORS = tuple(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
