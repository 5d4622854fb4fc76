"""CLI layer: `fashrec search` (text -> items, optionally with a photo) and `fashrec similar` (image -> items)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional

import typer

from fashrec.cli.app import app
from fashrec.cli.batch import run_batch
from fashrec.cli.options import (
    IdOpt,
    IndexOpt,
    JsonOpt,
    KOpt,
    NoProfileOpt,
    OffsetOpt,
    RelaxOpt,
    RuntimeOpt,
    SearchPlannerOpt,
    ServerOpt,
    SheetOpt,
    SortOpt,
    StrictOpt,
    WhereOpt,
    batch_option,
)
from fashrec.cli.drawing import renderer
from fashrec.cli.output import emit, handled, literal, note
from fashrec.cli.remote import post_line, server_url, with_profile
from fashrec.errors import RequestError, UsageError
from fashrec.profile import load_profile_unless
from fashrec.service.requests import SearchRequest, SimilarRequest, check_sort

# What answers here (the index, the encoder: numpy, onnxruntime, hnswlib) is imported by _local:
# `search --server URL` sends the request and renders the answer without it.


@dataclass
class Page:
    """-k, --offset, --sort and --strict: what a request (a batch line) leaves out."""

    k: int
    offset: int
    sort: str
    strict: bool = False
    relax: tuple[int, ...] = ()    # --relax N: ways forward taken, in turn


def _run(kind: str, query, page: Page, where, index, batch, sheet, json_mode: bool, use_profile: bool = True,
         planner: str = "none", image: Optional[Path] = None, server: Optional[str] = None,
         runtime: Optional[str] = None, product_id: Optional[str] = None) -> None:
    """The shared body of `search` (kind "text") and `similar` (kind "image"; ``product_id``: --id)."""
    with handled(json_mode or batch is not None):
        url = server_url(server)
        check_sort(page.sort)
        if page.relax and batch is not None:
            raise UsageError("--relax takes a way forward of one answer: give \"relax\" on each batch line")
        if image is not None and (batch is not None or url is not None):
            raise UsageError("--image applies to one query answered here: give \"image\" on each batch line, "
                             "and no --server")
        answer = (_local(kind, index, planner, page, use_profile, runtime) if url is None
                  else _remote(kind, url, index, page, use_profile))
        if batch is not None:
            raise typer.Exit(1 if run_batch(batch, answer, "search" if kind == "text" else "similar") else 0)
        if product_id is not None and (query is not None or batch is not None):
            raise UsageError("give an image or --id, not both (batch lines name their own \"id\")")
        if (query is None or query == "") and product_id is None:
            raise UsageError(f"give a query {kind} (or --batch FILE)")
        request = ({"text": query} if kind == "text" else {"id": product_id} if product_id is not None
                   else {"image": str(query)})
        if page.relax:
            request["relax"] = list(page.relax)
        data = answer({**request, **({"image": str(image)} if image is not None else {})}, list(where or []),
                      trusted=True)
        if not json_mode:   # a filter word that matches nothing is said, never a silent empty answer
            for text in data.get("notes", []):
                note("[yellow]note:[/] " + literal(text))
        label = f'"{query}"' if kind == "text" else f"like {Path(query).name if query else product_id}"
        if image is not None:
            label += f" like {image.name}"
        if sheet:
            anchor = (Path(query) if query else _product_image(data)) if kind == "image" else image
            from fashrec.cli.sheet import write_sheet  # deferred: PIL's drawing, only for --sheet

            note(f"sheet: {literal(write_sheet(sheet, data, anchor=anchor, title=label))}")
        emit(data, json_mode=json_mode, render=lambda: renderer().render_search(data, label))


def _product_image(data: dict[str, Any]) -> Optional[Path]:
    image = (data.get("query") or {}).get("image")
    return Path(image) if image else None


def _local(kind: str, index, planner: str, page: Page, use_profile: bool, runtime: Optional[str] = None):
    """Answer requests in this process: load the index and encoder once."""
    from fashrec.cli import remarks  # noqa: F401  (styles the loading remarks)
    from fashrec.service.handlers import Defaults, search_answer, similar_answer
    from fashrec.service.runtime import build_searcher

    searcher = build_searcher(index, planner, runtime)
    defaults = Defaults(k=page.k, offset=page.offset, sort=page.sort, strict=page.strict)

    def answer(request: dict[str, Any], where: list[str] | None = None, trusted: bool = False) -> dict[str, Any]:
        flt = list(where) if where else None
        read = _record if trusted else _checked
        if kind == "text":
            # A photo with the words is this command line's (a path it vouches for), not a service field.
            photo = request.get("image") if isinstance(request, dict) else None
            if photo is not None and not isinstance(photo, str):
                raise RequestError.of_field("image", "must be a string", photo)   # as the request models say it
            words = {key: v for key, v in request.items() if key != "image"} if isinstance(request, dict) else request
            return search_answer(searcher, read(SearchRequest, words), defaults=defaults, where=flt,
                                 profile_off=not use_profile, image=Path(photo) if photo else None)
        similar = read(SimilarRequest, request)
        return similar_answer(searcher, similar, defaults=defaults, where=flt, profile_off=not use_profile,
                              image=Path(similar.image) if similar.image else None)

    return answer


def _record(kind: type, fields: dict[str, Any]) -> Any:
    """A request built from this command line's own options (typer has checked them)."""
    return kind(**fields)


def _checked(kind: type, line: Any) -> Any:
    """A batch line, checked field by field (untrusted JSON)."""
    from fashrec.service.schema import read_request  # deferred: pydantic, only for batch lines

    return read_request(kind, line)


def _remote(kind: str, url: str, index, page: Page, use_profile: bool):
    """Send requests to the server at ``url``: no index or model is loaded here."""
    if index is not None:
        raise UsageError("--index and --server: the server answers from the index it was started with")
    defaults = with_profile({"k": page.k, "offset": page.offset, "sort": page.sort,
                             **({"strict": True} if page.strict else {})}, load_profile_unless(not use_profile))
    route = "/search" if kind == "text" else "/similar"

    def answer(request: dict[str, Any], where: list[str] | None = None, trusted: bool = False) -> dict[str, Any]:
        return post_line(url, route, defaults, {**request, **({"where": where} if where else {})})

    return answer


@app.command()
def search(
    text: Optional[str] = typer.Argument(None, help="What you are looking for, in words."),
    image: Optional[Path] = typer.Option(None, "--image", "-i", metavar="PHOTO",
                                         help="Also look like this photo: the words say what, the photo how."),
    k: int = KOpt,
    offset: int = OffsetOpt,
    sort: str = SortOpt,
    where: Optional[List[str]] = WhereOpt,
    strict: bool = StrictOpt,
    relax: Optional[List[int]] = RelaxOpt,
    index: Optional[Path] = IndexOpt,
    batch: Optional[Path] = batch_option("search"),
    sheet: Optional[Path] = SheetOpt,
    no_profile: bool = NoProfileOpt,
    planner: str = SearchPlannerOpt,
    runtime: Optional[str] = RuntimeOpt,
    server: Optional[str] = ServerOpt,
    json_mode: bool = JsonOpt,
) -> None:
    """Find items matching a text query ("red floral summer dress").

    The words are understood first (--planner): the colours, categories, materials, genders, prices,
    sizes and brands they name become constraints, so every result has them; embedding similarity ranks
    within. When fewer than k have them all, the answer says so, counts what giving up each would yield,
    and lists labelled near misses apart (none with --strict). With --image the ranking also follows a
    photo ("in red" + a photo of a shirt: red shirts that look like it).

    Examples:
    fashrec search "red floral summer dress" -k 5
    fashrec search "linen shirt" --where "price<50" --sort price
    fashrec search "red linen shirt for men" --strict
    fashrec search "red linen shirt for men" --relax 1
    fashrec search "in red" --image photo.jpg
    fashrec search "shoes" --offset 10 --json
    """
    _run("text", text, Page(k, offset, sort, strict, tuple(relax or ())), where, index, batch, sheet, json_mode, not no_profile, planner, image,
         server, runtime)


@app.command()
def similar(
    image: Optional[Path] = typer.Argument(None, help="An image file (need not be in the catalog)."),
    product_id: Optional[str] = IdOpt,
    k: int = KOpt,
    offset: int = OffsetOpt,
    sort: str = SortOpt,
    where: Optional[List[str]] = WhereOpt,
    index: Optional[Path] = IndexOpt,
    batch: Optional[Path] = batch_option("similar"),
    sheet: Optional[Path] = SheetOpt,
    no_profile: bool = NoProfileOpt,
    runtime: Optional[str] = RuntimeOpt,
    server: Optional[str] = ServerOpt,
    json_mode: bool = JsonOpt,
) -> None:
    """Find items that look like an image.

    Examples:
    fashrec similar photo.jpg -k 5
    fashrec similar --id sku-1001
    fashrec similar photo.jpg --where category=shoes --where "price=20..60" --sort price
    """
    _run("image", image, Page(k, offset, sort), where, index, batch, sheet, json_mode, not no_profile,
         server=server, runtime=runtime, product_id=product_id)
