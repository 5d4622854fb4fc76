"""CLI layer: `fashrec search` (text -> items) and `fashrec similar` (image -> items)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer

from fashrec.cli import remarks  # noqa: F401  (styles the loading remarks)
from fashrec.cli.app import app
from fashrec.cli.batch import run_batch
from fashrec.cli.options import (
    BatchOpt,
    IndexOpt,
    JsonOpt,
    KOpt,
    NoProfileOpt,
    RuntimeOpt,
    SearchPlannerOpt,
    ServerOpt,
    SheetOpt,
    WhereOpt,
)
from fashrec.cli.output import emit, handled, literal, note
from fashrec.cli.remote import post_line, server_url, with_profile
from fashrec.cli.render import render_search, write_sheet
from fashrec.errors import UsageError
from fashrec.service.handlers import Defaults, search_answer, similar_answer
from fashrec.service.runtime import build_searcher, load_profile_unless
from fashrec.service.schema import SearchRequest, SimilarRequest, read_request


def _run(kind: str, query, k: int, where, index, batch, sheet, json_mode: bool, use_profile: bool = True,
         planner: str = "none", server: Optional[str] = None, runtime: Optional[str] = None) -> None:
    """The shared body of `search` (kind "text") and `similar` (kind "image")."""
    with handled(json_mode or batch is not None):
        url = server_url(server)
        answer = _local(kind, index, planner, k, use_profile, runtime) if url is None else _remote(kind, url, index, k,
                                                                                           use_profile)
        if batch is not None:
            raise typer.Exit(1 if run_batch(batch, answer) else 0)
        if query is None or query == "":
            raise UsageError(f"give a query {kind} (or --batch FILE)")
        data = answer({"text": query} if kind == "text" else {"image": str(query)}, list(where or []))
        if not json_mode:   # a filter word that matches nothing is said, never a silent empty answer
            for text in data.get("notes", []):
                note("[yellow]note:[/] " + literal(text))
        if data.get("profile") and not json_mode:
            note("profile: " + literal("; ".join(e["detail"] for e in data["profile"])))
        label = f'"{query}"' if kind == "text" else f"like {Path(query).name}"
        if sheet:
            note(f"sheet: {literal(write_sheet(sheet, Path(query) if kind == 'image' else None, data['results'], label))}")
        emit(data, json_mode=json_mode, render=lambda: render_search(data, label))


def _local(kind: str, index, planner: str, k: int, use_profile: bool, runtime: Optional[str] = None):
    """Answer requests in this process: load the index and encoder once."""
    searcher = build_searcher(index, planner, runtime)
    defaults = Defaults(k=k)

    def answer(request: dict[str, Any], where: list[str] | None = None) -> dict[str, Any]:
        flt = list(where) if where else None
        if kind == "text":
            return search_answer(searcher, read_request(SearchRequest, request), defaults=defaults, where=flt,
                                 profile_off=not use_profile)
        similar = read_request(SimilarRequest, request)
        return similar_answer(searcher, similar, defaults=defaults, where=flt, profile_off=not use_profile,
                              image=Path(similar.image) if similar.image else None)

    return answer


def _remote(kind: str, url: str, index, k: int, use_profile: bool):
    """Send requests to the server at ``url``: no index or model is loaded here."""
    if index is not None:
        raise UsageError("--index and --server: the server answers from the index it was started with")
    defaults = with_profile({"k": k}, load_profile_unless(not use_profile))
    route = "/search" if kind == "text" else "/similar"

    def answer(request: dict[str, Any], where: list[str] | None = None) -> dict[str, Any]:
        return post_line(url, route, defaults, {**request, **({"where": where} if where else {})})

    return answer


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
    server: Optional[str] = ServerOpt,
    json_mode: bool = JsonOpt,
) -> None:
    """Find items matching a text query ("red floral summer dress").

    The words are understood first (--planner): the colours, categories, materials, genders and prices
    they name become filters, so every result has them; embedding similarity ranks within.
    """
    _run("text", text, k, where, index, batch, sheet, json_mode, not no_profile, planner, server, runtime)


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
    server: Optional[str] = ServerOpt,
    json_mode: bool = JsonOpt,
) -> None:
    """Find items that look like an image."""
    _run("image", image, k, where, index, batch, sheet, json_mode, not no_profile, server=server, runtime=runtime)
