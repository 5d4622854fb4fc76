"""CLI layer: `fashrec plan`, what fashrec understood from a request (no index search)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from fashrec.cli.app import app
from fashrec.cli.batch import run_batch
from fashrec.cli.options import BatchOpt, IndexOpt, JsonOpt, LlmOpt, PlannerOpt
from fashrec.cli.output import emit, handled
from fashrec.cli.render import render_plan
from fashrec.cli.runtime import load_vocabulary, planner_named
from fashrec.errors import UsageError
from fashrec.planner import Plan, PlanContext


# -- fashrec plan -----------------------------------------------------------------------------------------
@app.command("plan")
def plan_command(
    text: Optional[str] = typer.Argument(None, help="The request, e.g. \"same in navy, under 40 euros\"."),
    index: Optional[Path] = IndexOpt,
    catalog: Optional[Path] = typer.Option(None, "--catalog", help="Read the vocabulary from a catalog "
                                           "JSONL instead of an index (images are not checked)."),
    planner: str = PlannerOpt,
    llm: Optional[Path] = LlmOpt,
    anchor: Optional[list[str]] = typer.Option(None, "--anchor", "-a", help="An anchor attribute "
                                               "attr=value (repeatable)."),
    currency: Optional[str] = typer.Option(None, "--currency", help="The catalog's currency (default: "
                                           "the one its products use)."),
    batch: Optional[Path] = BatchOpt,
    json_mode: bool = JsonOpt,
) -> None:
    """Show the plan a request turns into: constraints grounded in the catalog's own vocabulary."""
    json_mode = json_mode or batch is not None  # batch output is JSON lines by definition
    with handled(json_mode):
        if (text is None) == (batch is None):
            raise UsageError("give either a request TEXT or --batch FILE", hint='fashrec plan "but in linen"')
        if index is not None and catalog is not None:
            raise UsageError("use --index or --catalog, not both")
        vocabulary, catalog_currency = load_vocabulary(index, catalog)
        currency = currency or catalog_currency
        chosen = planner_named(planner, llm)
        base_anchor = parse_anchor(anchor or [])

        def plan_one(request_text: str, request_anchor: dict[str, str], previous: Plan | None = None):
            context = PlanContext(vocabulary=vocabulary, anchor=request_anchor, previous=previous,
                                  currency=currency)
            return chosen.plan(request_text, context)

        if batch is not None:
            def handle(request: dict[str, Any]) -> dict[str, Any]:
                request_text = request.get("text")
                if not isinstance(request_text, str):
                    raise UsageError("a request needs a \"text\" string")
                request_anchor = request.get("anchor") or {}
                if not isinstance(request_anchor, dict):
                    raise UsageError("\"anchor\" must be an object of attribute -> value")
                previous = request.get("previous")
                plan = plan_one(request_text, {**base_anchor, **_strings(request_anchor)},
                                previous_plan(previous) if previous is not None else None)
                return {"text": request_text, "plan": plan.to_dict()}

            failures = run_batch(batch, handle)
            if failures:
                raise typer.Exit(1)
            return

        plan = plan_one(text or "", base_anchor)
        emit(plan, json_mode=json_mode, render=lambda: render_plan(plan, text or ""))


def previous_plan(data: Any) -> Plan:
    """A batch line's "previous" plan, checked field by field (it is untrusted JSON, and a plan with a
    string where a mapping belongs used to crash the planner)."""
    def fail(field: str, shape: str) -> UsageError:
        return UsageError(f"\"previous{field}\" must be {shape}")

    if not isinstance(data, dict):
        raise fail("", "a plan object (as `fashrec plan --json` prints)")
    strings = lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)  # noqa: E731
    if not (isinstance(data.get("set", {}), dict) and all(isinstance(v, str) for v in data.get("set", {}).values())):
        raise fail(".set", "an object of attribute -> value")
    if not (isinstance(data.get("exclude", {}), dict)
            and all(isinstance(v, str) or strings(v) for v in data.get("exclude", {}).values())):
        raise fail(".exclude", "an object of attribute -> list of values")
    price = data.get("price") or {}
    bounds = [price.get("min"), price.get("max"), data.get("price_min"), data.get("price_max")] \
        if isinstance(price, dict) else None
    if bounds is None or not all(b is None or (isinstance(b, (int, float)) and not isinstance(b, bool)
                                               and 0 <= b < float("inf")) for b in bounds):
        raise fail(".price", "an object of min and max, each a number of 0 or more or null")
    for key in ("relative", "keep", "drop", "notes"):
        if data.get(key) is not None and not strings(data[key]):
            raise fail(f".{key}", "a list of strings")
    if not isinstance(data.get("include_out_of_stock", False), bool):
        raise fail(".include_out_of_stock", "true or false")
    return Plan.from_dict(data)


def parse_anchor(pairs: list[str]) -> dict[str, str]:
    anchor: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"--anchor expects attr=value, got '{pair}'")
        anchor[key.strip()] = value.strip()
    return anchor


def _strings(mapping: dict[str, Any]) -> dict[str, str]:
    bad = [k for k, v in mapping.items() if not isinstance(v, str)]
    if bad:
        raise UsageError(f"anchor values must be strings (bad: {', '.join(map(str, bad))})")
    return {str(k): v for k, v in mapping.items()}
