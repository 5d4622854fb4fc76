"""CLI layer: `fashrec plan`, what fashrec understood from a request (no index search)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from fashrec.ammr.corrections import parse_overrides
from fashrec.cli import remarks  # noqa: F401  (styles the loading remarks)
from fashrec.cli.app import app
from fashrec.cli.batch import run_batch
from fashrec.cli.options import IndexOpt, JsonOpt, LlmOpt, PlannerOpt, batch_option
from fashrec.cli.output import emit, handled, literal, note
from fashrec.cli.render import render_plan
from fashrec.errors import UsageError
from fashrec.planner import PlanContext
from fashrec.service.handlers import plan_answer
from fashrec.service.requests import PlanRequest
from fashrec.service.runtime import load_vocabulary, planner_named


# -- fashrec plan -----------------------------------------------------------------------------------------
@app.command("plan")
def plan_command(
    text: Optional[str] = typer.Argument(None, help="The request, e.g. \"same in navy, under 40 euros\"."),
    index: Optional[Path] = IndexOpt,
    catalog: Optional[Path] = typer.Option(None, "--catalog", metavar="FILE", help="Read the vocabulary from a catalog "
                                           "JSONL instead of an index (images are not checked)."),
    planner: str = PlannerOpt,
    llm: Optional[Path] = LlmOpt,
    anchor: Optional[list[str]] = typer.Option(None, "--anchor", "-a", metavar="ATTR=VALUE", help="What the anchor is: "
                                               "attribute=value (repeatable), e.g. --anchor category=dresses."),
    currency: Optional[str] = typer.Option(None, "--currency", metavar="CODE", help="The catalog's currency (default: "
                                           "the one its products use)."),
    batch: Optional[Path] = batch_option("plan"),
    json_mode: bool = JsonOpt,
) -> None:
    """Show the plan a request turns into: constraints grounded in the catalog's own vocabulary.

    Examples:
    fashrec plan "same in navy, under 40 euros"
    fashrec plan "not black" --catalog shop.jsonl --anchor color=black --json
    """
    json_mode = json_mode or batch is not None  # batch output is JSON lines by definition
    with handled(json_mode):
        if (text is None) == (batch is None):
            raise UsageError("give either a request TEXT or --batch FILE", hint='fashrec plan "but in linen"')
        if index is not None and catalog is not None:
            raise UsageError("use --index or --catalog, not both")
        vocabulary, catalog_currency = load_vocabulary(index, catalog, warn=lambda m: note(f"[yellow]{literal(m)}[/]"))
        currency = currency or catalog_currency
        chosen = planner_named(planner, llm)
        base_anchor = parse_overrides(anchor)  # refine's --anchor reader: its words, hint and spelling

        if batch is not None:
            from fashrec.service.schema import read_request  # deferred: pydantic, for the lines only

            def handle(line: dict[str, Any]) -> dict[str, Any]:
                return plan_answer(chosen, read_request(PlanRequest, line), vocabulary=vocabulary,
                                   currency=currency, anchor=base_anchor)

            failures = run_batch(batch, handle, "plan")
            if failures:
                raise typer.Exit(1)
            return

        plan = chosen.plan(text or "", PlanContext(vocabulary=vocabulary, anchor=base_anchor, previous=None,
                                                   currency=currency))
        emit(plan, json_mode=json_mode, render=lambda: render_plan(plan, text or ""))
