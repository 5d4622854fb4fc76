"""`fashrec refine IMAGE "TEXT"`: the AMMR loop from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from fashrec.cli.app import app
from fashrec.cli.options import (
    BatchOpt,
    IndexOpt,
    JsonOpt,
    KOpt,
    SheetOpt,
    open_index_for,
    run_batch,
    write_sheet,
)
from fashrec.cli.output import emit, handled, note, stdout
from fashrec.cli.profile_cmd import (
    NoProfileOpt,
    load_profile_unless,
    render_profile_note,
)
from fashrec.cli.session_cmd import (
    PickOpt,
    SessionOpt,
    render_turn,
    session_turn,
    turn_anchor_image,
)

PlannerOpt = typer.Option("hybrid", "--planner", help="hybrid (default), rules or llm.")
LlmOpt = typer.Option(None, "--llm", help="A GGUF model file for the llm/hybrid planner "
                      "(default: the embedded SmolLM2-135M-Instruct).")


def build_refiner(index: Optional[Path], planner: str, llm: Optional[Path]):
    """Load index, encoder and planner once (shared by refine, plan-aware commands and chat)."""
    from fashrec.ammr.loop import Refiner
    from fashrec.encoder import load_encoder
    from fashrec.planner import create_planner

    idx = open_index_for(index)
    encoder = load_encoder(idx.encoder_spec, interactive=True)
    # A missing or broken LLM never stops a refinement: the planners fall back to rules and say so in
    # the plan's notes, which every output shows.
    chosen = create_planner(planner, **({"model_path": str(llm)} if llm else {}))
    fallback = create_planner("rules") if planner != "rules" else None
    return Refiner(idx, encoder, chosen, fallback_planner=fallback)


def refine_once(refiner, image: Path, text: str, *, k: int, strategy: str, max_steps: int,
                profile=None) -> dict[str, Any]:
    """One refinement with the personal profile applied; the JSON-ready result (with a `profile` note)."""
    from fashrec.ammr.loop import RefineOptions
    from fashrec.profile import refine_with_profile

    anchor = refiner.anchor_from_image(image)
    result, applied = refine_with_profile(refiner, anchor, text, RefineOptions(k=k, strategy=strategy,
                                                                               max_steps=max_steps), profile)
    return {**result.to_dict(), "profile": applied.to_dict() if applied else None}


def render_refine(data: dict[str, Any], *, explain: bool) -> None:
    plan = data["plan"]
    anchor = data["anchor"]["attributes"]
    stdout.print("[bold]Anchor:[/] " + ", ".join(
        f"{a}={g['value']} ({g['confidence']:.0%})" for a, g in anchor.items()) or "(unknown)")
    wanted = [f"{a}={v}" for a, v in plan["set"].items()]
    wanted += [f"{a}≠{'/'.join(v)}" for a, v in plan["exclude"].items()]
    if plan["price"]["max"] is not None or plan["price"]["min"] is not None:
        wanted.append(f"price {plan['price']['min'] or 0:g}..{plan['price']['max'] or '∞'}")
    wanted += plan["relative"]
    stdout.print(f"[bold]Understood:[/] {', '.join(wanted) or '(no explicit change)'}"
                 f"  [dim]({plan['source']} planner)[/]")
    for n in (plan.get("notes") or []) + ((data.get("relative") or {}).get("notes") or []):
        stdout.print(f"  [dim]{n}[/]", highlight=False)
    render_profile_note(data.get("profile"))
    if explain:
        for s in data["steps"]:
            stdout.print(f"  [dim]step {s['number']}: {s['action']} {s['detail']} - {s['allowed']} allowed, "
                         f"{s['retrieved']} retrieved, {s['passed_guard']} passed the guard, "
                         f"{s['selected']} selected {s['dropped'] or ''}[/]")
        stdout.print(f"  [dim]stop: {data['stop_reason']}[/]")
    if not data["results"]:
        stdout.print("[yellow]No product satisfies every constraint.[/]")
        return
    table = Table(header_style="bold")
    for col, style in (("#", "dim"), ("id", "cyan"), ("title", ""), ("price", ""), ("why", "green")):
        table.add_column(col, style=style or None, overflow="fold")
    for rank, r in enumerate(data["results"], start=1):
        price = f"{r['price']:.2f} {r.get('currency') or ''}" if r.get("price") is not None else ""
        why = r["why"] if explain else ", ".join(r["satisfied"]) or "-"
        table.add_row(str(rank), r["id"], r.get("title") or "", price, why)
    stdout.print(table)


@app.command()
def refine(
    image: Optional[Path] = typer.Argument(None, help="The anchor image (need not be in the catalog)."),
    text: Optional[str] = typer.Argument(None, help='What should be different: "but in linen".'),
    k: int = KOpt,
    index: Optional[Path] = IndexOpt,
    planner: str = PlannerOpt,
    llm: Optional[Path] = LlmOpt,
    strategy: str = typer.Option("ammr", "--strategy", help="ammr (default) or the single-shot baselines "
                                 "image, text, fusion."),
    max_steps: int = typer.Option(5, "--max-steps", min=1, max=50, help="Bound on re-planning steps."),
    explain: bool = typer.Option(False, "--explain", help="Show the agent's steps and full reasons."),
    batch: Optional[Path] = BatchOpt,
    sheet: Optional[Path] = SheetOpt,
    session: Optional[str] = SessionOpt,
    pick: Optional[int] = PickOpt,
    no_profile: bool = NoProfileOpt,
    json_mode: bool = JsonOpt,
) -> None:
    """Refine an anchor image with a text constraint (the AMMR agent loop).

    With --session NAME the request joins a conversation: IMAGE + TEXT (re)starts it, TEXT alone refines
    the previous turn, --pick N continues from result N of the previous turn.
    """
    from fashrec.ammr.loop import STRATEGIES
    from fashrec.errors import UsageError

    with handled(json_mode or batch is not None):
        if strategy not in STRATEGIES:
            raise UsageError(f"--strategy must be one of {', '.join(STRATEGIES)}")
        profile = load_profile_unless(no_profile)
        if session is not None or pick is not None:
            if batch is not None:
                raise UsageError("--session cannot be combined with --batch")
            data = session_turn(session, image, text, pick=pick, index=index, planner=planner, llm=llm, k=k,
                                strategy=strategy, max_steps=max_steps, profile=profile)
            if sheet:
                note(f"sheet: {write_sheet(sheet, turn_anchor_image(data), data['results'], session or '')}")
            emit(data, json_mode=json_mode, render=lambda: render_turn(data, explain=explain))
            return
        refiner = build_refiner(index, planner, llm)
        if batch is not None:
            def handle(r: dict[str, Any]):
                if "image" not in r:
                    raise UsageError("request needs an 'image'")
                return refine_once(refiner, Path(r["image"]), str(r.get("text") or ""),
                                   k=int(r.get("k", k)), strategy=str(r.get("strategy", strategy)),
                                   max_steps=int(r.get("max_steps", max_steps)), profile=profile)
            raise typer.Exit(1 if run_batch(batch, handle) else 0)
        if image is None:
            raise UsageError('give an anchor image and a request: fashrec refine shirt.jpg "but in linen"')
        data = refine_once(refiner, image, text or "", k=k, strategy=strategy, max_steps=max_steps,
                           profile=profile)
        if sheet:
            note(f"sheet: {write_sheet(sheet, image, data['results'], f'{image.name}: {text}')}")
        emit(data, json_mode=json_mode, render=lambda: render_refine(data, explain=explain))
