"""CLI layer: `fashrec search` (text -> items) and `fashrec similar` (image -> items)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer

from fashrec.cli.app import app
from fashrec.cli.batch import request_int, request_text, run_batch
from fashrec.cli.options import (
    MAX_K,
    BatchOpt,
    IndexOpt,
    JsonOpt,
    KOpt,
    NoProfileOpt,
    RuntimeOpt,
    SearchPlannerOpt,
    SheetOpt,
    WhereOpt,
)
from fashrec.cli.output import emit, handled, literal, note
from fashrec.cli.render import render_search, write_sheet
from fashrec.cli.runtime import build_searcher, load_profile_unless
from fashrec.errors import UsageError
from fashrec.index import Index
from fashrec.index.filters import Filter, parse_where, vet_where
from fashrec.profile import profile_limits
from fashrec.search import Boost


def _request_filter(request: dict[str, Any]) -> list[str]:
    where = request.get("where") or {}
    if isinstance(where, dict):
        return [f"{a}={v}" for a, vals in where.items() for v in (vals if isinstance(vals, list) else [vals])]
    return list(where)


def _where(index: Index, exprs: list[str]) -> tuple[Filter, list[str]]:
    """``--where`` as a filter, and a note for each attribute or value the catalog does not have."""
    return vet_where(parse_where(exprs), index.vocabulary)


def _profile_limits(index: Index, use_profile: bool) -> tuple[Filter, Boost | None, list[dict]]:
    """The personal profile as (filter of what it leaves out, ranking boost, what each rule did)."""
    profile = load_profile_unless(not use_profile)
    if profile is None:
        return Filter(), None, []
    applied = profile_limits(profile, index)
    return Filter(exclude_ids=set(applied.exclude_ids)), applied.boost, [e.to_dict() for e in applied.effects
                                                                         if e.applied]


def _run(kind: str, query, k: int, where, index, batch, sheet, json_mode: bool, use_profile: bool = True,
         planner: str = "none", runtime: Optional[str] = None) -> None:
    """The shared body of `search` (kind "text") and `similar` (kind "image")."""
    with handled(json_mode or batch is not None):
        searcher = build_searcher(index, planner, runtime)
        limits, boost, effects = _profile_limits(searcher.index, use_profile)
        ask = searcher.text if kind == "text" else searcher.image
        if batch is not None:
            def handle(r: dict[str, Any]):
                query = request_text(r, kind)
                flt, notes = _where(searcher.index, _request_filter(r))
                out = ask(query if kind == "text" else Path(query), k=request_int(r, "k", k, 1, MAX_K),
                          flt=flt.merged(limits), boost=boost).to_dict()
                return {**out, "notes": notes} if notes else out
            raise typer.Exit(1 if run_batch(batch, handle) else 0)
        if query is None or query == "":
            raise UsageError(f"give a query {kind} (or --batch FILE)")
        flt, where_notes = _where(searcher.index, list(where or []))
        data = ask(query, k=k, flt=flt.merged(limits), boost=boost).to_dict()
        if where_notes:   # a filter word that matches nothing is said, never a silent empty answer
            data["notes"] = where_notes
            if not json_mode:
                for text in where_notes:
                    note("[yellow]note:[/] " + literal(text))
        if effects:
            data["profile"] = effects
            if not json_mode:
                note("profile: " + literal("; ".join(e["detail"] for e in effects)))
        label = f'"{query}"' if kind == "text" else f"like {Path(query).name}"
        if sheet:
            note(f"sheet: {literal(write_sheet(sheet, Path(query) if kind == 'image' else None, data['results'], label))}")
        emit(data, json_mode=json_mode, render=lambda: render_search(data, label))


@app.command()
def search(
    text: Optional[str] = typer.Argument(None, help="What you are looking for, in words."),
    k: int = KOpt,
    where: Optional[List[str]] = WhereOpt,
    index: Optional[Path] = IndexOpt,
    batch: Optional[Path] = BatchOpt,
    sheet: Optional[Path] = SheetOpt,
    no_profile: bool = NoProfileOpt,
    planner: str = SearchPlannerOpt,
    runtime: Optional[str] = RuntimeOpt,
    json_mode: bool = JsonOpt,
) -> None:
    """Find items matching a text query ("red floral summer dress").

    The words are understood first (--planner): the colours, categories, materials, genders and prices
    they name become filters, so every result has them; embedding similarity ranks within.
    """
    _run("text", text, k, where, index, batch, sheet, json_mode, not no_profile, planner, runtime)


@app.command()
def similar(
    image: Optional[Path] = typer.Argument(None, help="An image file (need not be in the catalog)."),
    k: int = KOpt,
    where: Optional[List[str]] = WhereOpt,
    index: Optional[Path] = IndexOpt,
    batch: Optional[Path] = BatchOpt,
    sheet: Optional[Path] = SheetOpt,
    no_profile: bool = NoProfileOpt,
    runtime: Optional[str] = RuntimeOpt,
    json_mode: bool = JsonOpt,
) -> None:
    """Find items that look like an image."""
    _run("image", image, k, where, index, batch, sheet, json_mode, not no_profile, runtime=runtime)
