"""CLI layer: `fashrec refine IMAGE "TEXT"`, the AMMR loop from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from fashrec.ammr import RefineOptions, Refiner
from fashrec.cli.app import app
from fashrec.cli.batch import request_int, request_text, run_batch
from fashrec.cli.options import (
    MAX_K,
    MAX_STEPS,
    AskBelowOpt,
    BatchOpt,
    ExplainOpt,
    IndexOpt,
    JsonOpt,
    KOpt,
    LlmOpt,
    MaxStepsOpt,
    NoProfileOpt,
    PickOpt,
    PlannerOpt,
    RuntimeOpt,
    SessionOpt,
    SheetOpt,
    StrategyOpt,
)
from fashrec.cli.output import emit, handled, literal, note
from fashrec.cli.render import (
    render_refine,
    render_turn,
    turn_anchor_image,
    write_sheet,
)
from fashrec.cli.runtime import build_refiner, check_strategy, load_profile_unless
from fashrec.cli.session_cmd import session_turn
from fashrec.errors import UsageError
from fashrec.profile import Profile


def refine_once(refiner: Refiner, image: Path, text: str, *, k: int, strategy: str, max_steps: int,
                profile: Profile | None = None, ask_below: float | None = None) -> dict[str, Any]:
    """One refinement with the personal profile applied; the JSON-ready result."""
    anchor = refiner.anchor_from_image(image)
    options = RefineOptions(k=k, strategy=strategy, max_steps=max_steps, profile=profile, ask_below=ask_below)
    return refiner.refine(anchor, text, options).to_dict()


@app.command()
def refine(
    image: Optional[Path] = typer.Argument(None, help="The anchor image (need not be in the catalog)."),
    text: Optional[str] = typer.Argument(None, help='What should be different: "but in linen".'),
    k: int = KOpt,
    index: Optional[Path] = IndexOpt,
    planner: str = PlannerOpt,
    llm: Optional[Path] = LlmOpt,
    strategy: str = StrategyOpt,
    max_steps: int = MaxStepsOpt,
    ask_below: Optional[float] = AskBelowOpt,
    explain: bool = ExplainOpt,
    batch: Optional[Path] = BatchOpt,
    sheet: Optional[Path] = SheetOpt,
    session: Optional[str] = SessionOpt,
    pick: Optional[int] = PickOpt,
    no_profile: bool = NoProfileOpt,
    runtime: Optional[str] = RuntimeOpt,
    json_mode: bool = JsonOpt,
) -> None:
    """Refine an anchor image with a text constraint (the AMMR agent loop).

    With --session NAME the request joins a conversation: IMAGE + TEXT (re)starts it, TEXT alone refines
    the previous turn, --pick N continues from result N of the previous turn.
    """
    with handled(json_mode or batch is not None):
        check_strategy(strategy)
        profile = load_profile_unless(no_profile)
        if session is not None or pick is not None:
            if batch is not None:
                raise UsageError("--session cannot be combined with --batch")
            data = session_turn(session, image, text, pick=pick, index=index, planner=planner, llm=llm, k=k,
                                strategy=strategy, max_steps=max_steps, profile=profile, runtime=runtime,
                                ask_below=ask_below)
            if sheet:
                note(f"sheet: {literal(write_sheet(sheet, turn_anchor_image(data), data['results'], session or ''))}")
            emit(data, json_mode=json_mode, render=lambda: render_turn(data, explain=explain))
            return
        refiner = build_refiner(index, planner, llm, runtime)
        if batch is not None:
            def handle(r: dict[str, Any]):
                return refine_once(refiner, Path(request_text(r, "image")), request_text(r, "text", required=False),
                                   k=request_int(r, "k", k, 1, MAX_K),
                                   strategy=check_strategy(str(r.get("strategy", strategy))),
                                   max_steps=request_int(r, "max_steps", max_steps, 1, MAX_STEPS), profile=profile,
                                   ask_below=ask_below)
            raise typer.Exit(1 if run_batch(batch, handle) else 0)
        if image is None:
            raise UsageError('give an anchor image and a request: fashrec refine shirt.jpg "but in linen"')
        data = refine_once(refiner, image, text or "", k=k, strategy=strategy, max_steps=max_steps,
                           profile=profile, ask_below=ask_below)
        if sheet:
            note(f"sheet: {literal(write_sheet(sheet, image, data['results'], f'{image.name}: {text}'))}")
        emit(data, json_mode=json_mode, render=lambda: render_refine(data, explain=explain))
