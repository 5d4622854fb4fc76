"""CLI layer: `fashrec refine IMAGE "TEXT"`, the AMMR loop from the command line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional

import typer

from fashrec.cli.app import app
from fashrec.cli.batch import run_batch
from fashrec.cli.options import (
    AnchorOpt,
    AskBelowOpt,
    ExplainOpt,
    IdOpt,
    IndexOpt,
    JsonOpt,
    KOpt,
    LlmOpt,
    MaxStepsOpt,
    NoProfileOpt,
    OffsetOpt,
    PickOpt,
    PlannerOpt,
    RelaxOpt,
    RuntimeOpt,
    ServerOpt,
    SessionOpt,
    SheetOpt,
    SortOpt,
    StrategyOpt,
    StrictOpt,
    batch_option,
    split_positionals,
)
from fashrec.cli.drawing import renderer
from fashrec.cli.output import emit, handled, literal, note
from fashrec.cli.remote import post, post_line, server_url, with_profile
from fashrec.errors import UsageError
from fashrec.profile import load_profile_unless
from fashrec.service.requests import RefineRequest, check_sort
from fashrec.service.requests import check_strategy as check_shipped_strategy  # runtime's: the registry

# What answers here (the index, the encoder, the AMMR loop: numpy, onnxruntime, hnswlib) is imported in
# the functions that answer here: `refine --server URL` sends the request and renders the answer without it.


@app.command()
def refine(
    image: Optional[Path] = typer.Argument(None, help="The anchor image (need not be in the catalog)."),
    text: Optional[str] = typer.Argument(None, help='What should be different: "but in linen".'),
    k: int = KOpt,
    offset: int = OffsetOpt,
    sort: str = SortOpt,
    like: Optional[List[Path]] = typer.Option(None, "--like", metavar="PHOTO", help="Also like this photo "
                                              "(repeatable): what the anchors share is kept, the rest is open."),
    unlike: Optional[List[Path]] = typer.Option(None, "--unlike", metavar="PHOTO", help="Not like this photo "
                                                "(repeatable): the search leans away from its look."),
    index: Optional[Path] = IndexOpt,
    planner: str = PlannerOpt,
    llm: Optional[Path] = LlmOpt,
    strategy: str = StrategyOpt,
    max_steps: int = MaxStepsOpt,
    ask_below: Optional[float] = AskBelowOpt,
    strict: bool = StrictOpt,
    relax: Optional[List[int]] = RelaxOpt,
    product_id: Optional[str] = IdOpt,
    anchor: Optional[list[str]] = AnchorOpt,
    explain: bool = ExplainOpt,
    batch: Optional[Path] = batch_option("refine"),
    sheet: Optional[Path] = SheetOpt,
    session: Optional[str] = SessionOpt,
    pick: Optional[int] = PickOpt,
    no_profile: bool = NoProfileOpt,
    runtime: Optional[str] = RuntimeOpt,
    server: Optional[str] = ServerOpt,
    json_mode: bool = JsonOpt,
) -> None:
    """Refine an anchor image with a text constraint (the AMMR agent loop).

    With --session NAME the request joins a conversation: IMAGE + TEXT (re)starts it, TEXT alone refines
    the previous turn, --pick N continues from result N of the previous turn. --sort orders the products
    found by price (full matches first); --offset N shows the next page. --anchor attribute=value corrects what
    was read from the photo; --id SKU starts from a catalog product instead of a photo. --like and --unlike add photos
    the results should look like, or not ("like these two, not like this one").

    Examples:
    fashrec refine shirt.jpg "but in linen"
    fashrec refine shirt.jpg "same in navy, under 40 euros" --explain --sheet looks.png
    fashrec refine shirt.jpg "but in silk" --relax 1
    fashrec refine shirt.jpg "darker" --sort price --offset 10
    fashrec refine shirt.jpg "in blue" --like other.jpg --unlike striped.jpg
    fashrec refine dress.jpg "but in red" --anchor category=dresses
    fashrec refine --id sku-1001 "but in linen"
    fashrec refine shirt.jpg "shorter sleeves" --session s1
    fashrec refine --session s1 --pick 2 "but in blue"
    """
    with handled(json_mode or batch is not None):
        url = server_url(server)
        check_sort(sort)
        if url is None:   # every registered strategy; with --server the ones fashrec ships, before sending
            from fashrec.service.runtime import check_strategy

            check_strategy(strategy)
        else:
            check_shipped_strategy(strategy)
        profile = load_profile_unless(no_profile)
        image, text, fields = _anchor_fields(image, text, product_id, anchor, batch is not None)
        if relax:
            if batch is not None:
                raise UsageError("--relax takes a way forward of one answer: give \"relax\" on each batch line")
            fields["relax"] = list(relax)
        if session is not None or pick is not None:
            # said here in the options' words, answered here or by a server (which refuses the request's fields)
            if relax:
                raise UsageError("--relax takes a way forward of one refinement; in a conversation, type the "
                                 "option's number", hint="fashrec chat --session NAME, then the number")
            if offset or sort != "relevance":
                raise UsageError("--offset and --sort page a single refinement; in a conversation use chat's "
                                 "\"more\"", hint="fashrec chat --session NAME")
        if (like or unlike) and (url is not None or session is not None or pick is not None):
            raise UsageError("--like and --unlike shape one refinement's anchor, answered here: not with "
                             "--server, --session or --pick")
        call = _Call(k, strategy, max_steps, offset, sort, ask_below, strict, index, planner, llm, runtime, batch,
                     sheet, json_mode, explain, no_profile, session, pick, tuple(like or ()), tuple(unlike or ()))
        if url is not None:
            _answer_remote(call, url, with_profile(call.request_fields(fields), profile), image, text)
        elif session is not None or pick is not None:
            _answer_turn(call, profile, image, text, fields)
        else:
            _answer_here(call, image, text, fields, product_id)


@dataclass(frozen=True)
class _Call:
    """One `fashrec refine`'s options, as each way of answering it (a server, a session turn, here) reads them."""

    k: int
    strategy: str
    max_steps: int
    offset: int
    sort: str
    ask_below: Optional[float]
    strict: bool
    index: Optional[Path]
    planner: str
    llm: Optional[Path]
    runtime: Optional[str]
    batch: Optional[Path]
    sheet: Optional[Path]
    json_mode: bool
    explain: bool
    no_profile: bool
    session: Optional[str]
    pick: Optional[int]
    like: tuple[Path, ...]
    unlike: tuple[Path, ...]

    def request_fields(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The options a server's request carries (it answers the rest with its own defaults)."""
        return {"k": self.k, "strategy": self.strategy, "max_steps": self.max_steps, "offset": self.offset,
                "sort": self.sort, **({"ask_below": self.ask_below} if self.ask_below is not None else {}),
                **({"strict": True} if self.strict else {}), **fields}


def _answer_remote(call: _Call, url: str, request: dict[str, Any], image: Optional[Path], text: Optional[str]) -> None:
    """`--server URL`: the server answers (a batch line by line); nothing of the local stack is loaded."""
    if call.index is not None:
        raise UsageError("--index and --server: the server answers from the index it was started with")
    if call.batch is not None:
        raise typer.Exit(1 if run_batch(call.batch, lambda line: post_line(url, "/refine", request, line), "refine")
                         else 0)
    data = _remote_refine(url, request, image, text, call.session, call.pick)
    if call.sheet:
        _write_sheet(call.sheet, data, renderer().turn_anchor_image(data), text or "refine")
    emit(data, json_mode=call.json_mode,
         render=lambda: (renderer().render_turn(data, explain=call.explain) if "session" in data
                         else renderer().render_refine(data, explain=call.explain)))


def _answer_turn(call: _Call, profile, image: Optional[Path], text: Optional[str], fields: dict[str, Any]) -> None:
    """`--session NAME` / `--pick N`: one turn of a stored conversation, answered here."""
    if call.batch is not None:
        raise UsageError("--session cannot be combined with --batch")
    from fashrec.cli.session_cmd import session_turn

    data = session_turn(call.session, image, text, pick=call.pick, index=call.index, planner=call.planner,
                        llm=call.llm, k=call.k, strategy=call.strategy, max_steps=call.max_steps, profile=profile,
                        runtime=call.runtime, ask_below=call.ask_below, fields={**fields, "strict": call.strict})
    if call.sheet:
        _write_sheet(call.sheet, data, renderer().turn_anchor_image(data), f"session {call.session}")
    emit(data, json_mode=call.json_mode, render=lambda: renderer().render_turn(data, explain=call.explain))


def _answer_here(call: _Call, image: Optional[Path], text: Optional[str], fields: dict[str, Any],
                 product_id: Optional[str]) -> None:
    """One refinement (or a batch of them) answered in this process: the index, the encoder, the loop."""
    from fashrec.cli import remarks  # noqa: F401  (styles the loading remarks)
    from fashrec.service.handlers import Defaults, refine_answer
    from fashrec.service.runtime import build_refiner

    refiner = build_refiner(call.index, call.planner, call.llm, call.runtime)
    defaults = Defaults(k=call.k, strategy=call.strategy, max_steps=call.max_steps, ask_below=call.ask_below,
                        offset=call.offset, sort=call.sort, strict=call.strict)
    if call.batch is not None:
        if call.like or call.unlike:
            raise UsageError("--like and --unlike shape one refinement's anchor: not with --batch")

        # deferred: pydantic checks untrusted lines; a single refinement's options are typer's
        from fashrec.service.schema import read_request

        def handle(line: dict[str, Any]):
            request = read_request(RefineRequest, line)
            return refine_answer(refiner, request, defaults=defaults, profile_off=call.no_profile,
                                 image=Path(request.image) if request.image else None)
        raise typer.Exit(1 if run_batch(call.batch, handle, "refine") else 0)
    if image is None and product_id is None:
        raise UsageError('give an anchor image and a request: fashrec refine shirt.jpg "but in linen"',
                         hint='or start from a catalog product: fashrec refine --id SKU "but in linen"')
    data = refine_answer(refiner, RefineRequest(text=text or "", **fields), defaults=defaults, image=image,
                         profile_off=call.no_profile, like=call.like, unlike=call.unlike)
    if call.sheet:
        _write_sheet(call.sheet, data, image or renderer().turn_anchor_image(data),
                     f"Refine {image.name if image is not None else product_id}")
    emit(data, json_mode=call.json_mode, render=lambda: renderer().render_refine(data, explain=call.explain))


def _write_sheet(path: Path, data: dict[str, Any], anchor: Optional[Path], title: str) -> None:
    from fashrec.cli.sheet import write_sheet  # deferred: PIL's drawing, only for --sheet

    note(f"sheet: {literal(write_sheet(path, data, anchor=anchor, title=title))}")


def _remote_refine(url: str, request: dict[str, Any], image: Optional[Path], text: Optional[str],
                   session: Optional[str], pick: Optional[int]) -> dict[str, Any]:
    """One refinement (or session turn) answered by the server at ``url``."""
    if session is not None or pick is not None:
        if session is None:
            raise UsageError("--pick continues a conversation: add --session NAME")
        image, text = split_positionals(image, text)
        request = {**request, "session": session, **({"pick": pick} if pick is not None else {})}
    elif image is None and "id" not in request:
        raise UsageError('give an anchor image and a request: fashrec refine shirt.jpg "but in linen"')
    return post(url, "/refine", {**request, "text": text or ""}, image)


def _anchor_fields(image: Optional[Path], text: Optional[str], product_id: Optional[str],
                   anchor: Optional[list[str]], batch: bool) -> tuple[Optional[Path], Optional[str], dict[str, Any]]:
    """--id and --anchor as request fields; with --id the one positional argument is the request text."""
    corrections = {}
    if anchor:
        from fashrec.ammr.corrections import parse_overrides  # deferred: the AMMR stack, for --anchor only

        corrections = parse_overrides(anchor)
    if batch and (product_id is not None or corrections):
        raise UsageError("--id and --anchor describe one anchor: give \"id\" or \"anchor\" on each batch line")
    if product_id is None:
        return image, text, ({"anchor": corrections} if corrections else {})
    image, text = split_positionals(image, text)
    if image is not None:
        raise UsageError("give an anchor image or --id, not both")
    return None, text, {"id": product_id, **({"anchor": corrections} if corrections else {})}
