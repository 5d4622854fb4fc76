"""Options and helpers shared by several commands, so every command behaves the same way."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional

import typer
from rich.table import Table

from fashrec.cli.output import stdout, to_jsonable
from fashrec.errors import FashrecError, UsageError

IndexOpt = typer.Option(None, "--index", help="Index folder (default: $FASHREC_INDEX, the *.fashrec-index "
                        "folder here, or the last index built).")
JsonOpt = typer.Option(False, "--json", help="Print one JSON document on stdout (errors: JSON on stderr).")
KOpt = typer.Option(10, "-k", "--top-k", min=1, max=1000, help="How many results.")
WhereOpt = typer.Option(None, "--where", "-w", help="Hard filter attr=value or attr!=value (repeatable).")
SheetOpt = typer.Option(None, "--sheet", help="Also write a contact sheet PNG of the results.")
BatchOpt = typer.Option(None, "--batch", help="JSONL requests from FILE ('-' for stdin); JSONL results out.")


def open_index_for(index: Optional[Path]):
    from fashrec.index import open_index

    return open_index(index)


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


KEY_ATTRIBUTES = ("category", "color", "material", "pattern", "gender", "usage")


def short_attributes(attributes: dict[str, Any], limit: int = 4) -> str:
    keys = [k for k in KEY_ATTRIBUTES if k in attributes] + [k for k in attributes if k not in KEY_ATTRIBUTES]
    parts = []
    for k in keys[:limit]:
        v = attributes[k]
        parts.append(", ".join(v) if isinstance(v, list) else str(v))
    return " · ".join(parts)


def results_table(results: list[dict[str, Any]], *, title: str = "", extra: str | None = None) -> Table:
    table = Table(title=title or None, show_lines=False, header_style="bold")
    table.add_column("#", justify="right", style="dim")
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("title")
    table.add_column("attributes", style="green")
    table.add_column("price", justify="right")
    table.add_column("score", justify="right")
    if extra:
        table.add_column(extra)
    for rank, r in enumerate(results, start=1):
        price = f"{r['price']:.2f} {r.get('currency') or ''}".strip() if r.get("price") is not None else ""
        if r.get("in_stock") is False:
            price += " (out)"
        row = [str(rank), r["id"], r.get("title") or "", short_attributes(r.get("attributes") or {}), price,
               f"{r['score']:.3f}"]
        if extra:
            row.append(str(r.get(extra.lower(), "")))
        table.add_row(*row)
    return table


def print_results(results: list[dict[str, Any]], *, title: str = "") -> None:
    if not results:
        stdout.print("[yellow]No results.[/]")
        return
    # A "why" column only when something (a profile preference) re-ranked the results.
    stdout.print(results_table(results, title=title, extra="Why" if any(r.get("why") for r in results) else None))


def write_sheet(path: Path, anchor: Path | None, results: list[dict[str, Any]], title: str) -> Path:
    from fashrec.cli.sheet import Tile, make_sheet

    tiles = [Tile(anchor, ["anchor / query"], highlight=True)] if anchor else []
    for rank, r in enumerate(results, start=1):
        tiles.append(Tile(Path(r["image"]), [f"{rank}. {r['id']}", (r.get("title") or "")[:24],
                                             f"score {r['score']:.3f}"]))
    return make_sheet(tiles, path, title=title)
