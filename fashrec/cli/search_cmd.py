"""`fashrec search` (text -> items) and `fashrec similar` (image -> items)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer

from ..filters import Filter, parse_where
from .app import app
from .common import (BatchOpt, IndexOpt, JsonOpt, KOpt, SheetOpt, WhereOpt, open_index_for, print_results,
                     run_batch, write_sheet)
from .output import emit, handled, note


def _searcher(index: Optional[Path]):
    from ..encoder import load_encoder
    from ..search import Searcher

    idx = open_index_for(index)
    return Searcher(idx, load_encoder(idx.encoder_spec))


def _request_filter(request: dict[str, Any]) -> Filter:
    where = request.get("where") or {}
    if isinstance(where, dict):
        exprs = [f"{a}={v}" for a, vals in where.items() for v in (vals if isinstance(vals, list) else [vals])]
    else:
        exprs = list(where)
    return parse_where(exprs)


@app.command()
def search(
    text: Optional[str] = typer.Argument(None, help="What you are looking for, in words."),
    k: int = KOpt,
    where: Optional[List[str]] = WhereOpt,
    index: Optional[Path] = IndexOpt,
    batch: Optional[Path] = BatchOpt,
    sheet: Optional[Path] = SheetOpt,
    json_mode: bool = JsonOpt,
) -> None:
    """Find items matching a text query ("red floral summer dress")."""
    with handled(json_mode or batch is not None):
        from ..errors import UsageError

        searcher = _searcher(index)
        if batch is not None:
            failures = run_batch(batch, lambda r: searcher.text(str(r["text"]), k=int(r.get("k", k)),
                                                                flt=_request_filter(r)))
            raise typer.Exit(1 if failures else 0)
        if not text:
            raise UsageError("give a query text (or --batch FILE)")
        result = searcher.text(text, k=k, flt=parse_where(where))
        data = result.to_dict()
        if sheet:
            note(f"sheet: {write_sheet(sheet, None, data['results'], f'search: {text}')}")
        emit(data, json_mode=json_mode, render=lambda: print_results(data["results"], title=f'"{text}"'))


@app.command()
def similar(
    image: Optional[Path] = typer.Argument(None, help="An image file (need not be in the catalog)."),
    k: int = KOpt,
    where: Optional[List[str]] = WhereOpt,
    index: Optional[Path] = IndexOpt,
    batch: Optional[Path] = BatchOpt,
    sheet: Optional[Path] = SheetOpt,
    json_mode: bool = JsonOpt,
) -> None:
    """Find items that look like an image."""
    with handled(json_mode or batch is not None):
        from ..errors import UsageError

        searcher = _searcher(index)
        if batch is not None:
            failures = run_batch(batch, lambda r: searcher.image(Path(r["image"]), k=int(r.get("k", k)),
                                                                 flt=_request_filter(r)))
            raise typer.Exit(1 if failures else 0)
        if image is None:
            raise UsageError("give an image (or --batch FILE)")
        result = searcher.image(image, k=k, flt=parse_where(where))
        data = result.to_dict()
        if sheet:
            note(f"sheet: {write_sheet(sheet, image, data['results'], f'similar to {image.name}')}")
        emit(data, json_mode=json_mode, render=lambda: print_results(data["results"], title=f"like {image.name}"))
