"""`fashrec plan` (what fashrec understood from a request) and `fashrec eval planner`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from fashrec.cli.app import app, eval_app
from fashrec.cli.options import BatchOpt, IndexOpt, JsonOpt, run_batch
from fashrec.cli.output import emit, handled, note, progress_bar, stdout
from fashrec.errors import FashrecIndexError, UsageError

PlannerOpt = typer.Option("hybrid", "--planner", help="hybrid (default), rules or llm.")
LlmOpt = typer.Option(None, "--llm", help="A GGUF model file for the llm/hybrid planner "
                      "(default: the embedded SmolLM2-135M-Instruct).")
from fashrec.evaluation.planner import DEFAULT_PHRASES

VOCABULARY_NAME = "planner_vocabulary.json"


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
    from fashrec.planner import Plan, PlanContext, create_planner

    json_mode = json_mode or batch is not None  # batch output is JSON lines by definition
    with handled(json_mode):
        if (text is None) == (batch is None):
            raise UsageError("give either a request TEXT or --batch FILE", hint='fashrec plan "but in linen"')
        if index is not None and catalog is not None:
            raise UsageError("use --index or --catalog, not both")
        vocabulary, catalog_currency = load_vocabulary(index, catalog)
        currency = currency or catalog_currency
        chosen = create_planner(planner, **({"model_path": str(llm)} if llm and planner != "rules" else {}))
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
                if previous is not None and not isinstance(previous, dict):
                    raise UsageError("\"previous\" must be a plan object")
                plan = plan_one(request_text, {**base_anchor, **_strings(request_anchor)},
                                Plan.from_dict(previous) if previous else None)
                return {"text": request_text, "plan": plan.to_dict()}

            failures = run_batch(batch, handle)
            if failures:
                raise typer.Exit(1)
            return

        plan = plan_one(text or "", base_anchor)
        emit(plan, json_mode=json_mode, render=lambda: render_plan(plan, text or ""))


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


def load_vocabulary(index: Optional[Path], catalog: Optional[Path]):
    """The vocabulary (and currency) of a catalog file, an index folder, or the default index."""
    if catalog is not None:
        from fashrec.catalog import load_catalog

        loaded = load_catalog(catalog, check_images=False)
        if loaded.problems:
            note(f"[yellow]{len(loaded.problems)} catalog line(s) skipped[/] (first: {loaded.problems[0].message})")
        if not loaded.products:
            raise UsageError(f"no valid products in {catalog}")
        currencies = Counter(p.currency for p in loaded.products if p.currency)
        return loaded.vocabulary, (currencies.most_common(1)[0][0] if currencies else None)
    try:
        from fashrec.index import default_index_dir, open_index
    except ImportError as exc:  # pragma: no cover - only while the index module is missing
        raise FashrecIndexError(f"the index module is unavailable ({exc})", hint="use --catalog FILE") from None
    path = index if index is not None else default_index_dir()
    if not Path(path).expanduser().exists():
        raise FashrecIndexError(f"no index at {path}", hint="build one with: fashrec index CATALOG.jsonl, "
                                "or use --catalog FILE")
    opened = open_index(path)
    return opened.vocabulary, getattr(opened, "currency", None)


def render_plan(plan, text: str) -> None:
    """The plan for a person: one line per kind of constraint, then notes."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    rows: list[tuple[str, str]] = []
    if plan.set:
        rows.append(("want", ", ".join(f"{a} = {v}" for a, v in plan.set.items())))
    if plan.exclude:
        rows.append(("avoid", ", ".join(f"{a} ≠ {' / '.join(v)}" for a, v in plan.exclude.items())))
    if plan.price_min is not None or plan.price_max is not None:
        low = f"{plan.price_min:g}" if plan.price_min is not None else ""
        high = f"{plan.price_max:g}" if plan.price_max is not None else ""
        rows.append(("price", f"{low} – {high}" if low and high else (f"≤ {high}" if high else f"≥ {low}")))
    if plan.relative:
        rows.append(("steer", ", ".join(plan.relative)))
    if plan.keep:
        rows.append(("keep", ", ".join(plan.keep)))
    if plan.drop:
        rows.append(("any", ", ".join(plan.drop)))
    if plan.include_out_of_stock:
        rows.append(("stock", "out-of-stock items welcome"))
    if plan.query:
        rows.append(("words", plan.query))
    for label, value in rows:
        table.add_row(label, value)
    stdout.print(f"[bold]Plan[/] for [italic]{text!r}[/] [dim]({plan.source})[/]", highlight=False)
    if rows:
        stdout.print(table)
    else:
        stdout.print("  [yellow]nothing to change: the anchor's look is kept[/]")
    for n in plan.notes:
        stdout.print(f"  [dim]· {n}[/]", highlight=False)


# -- fashrec eval planner ---------------------------------------------------------------------------------
@eval_app.command("planner")
def eval_planner_command(
    data: Path = typer.Option(DEFAULT_PHRASES, "--data", help="Labelled phrases (JSONL; default: the ones shipped with fashrec)."),
    vocabulary: Optional[Path] = typer.Option(None, "--vocabulary", help=f"Vocabularies the phrases name "
                                              f"(default: {VOCABULARY_NAME} next to --data)."),
    planner: str = typer.Option("all", "--planner", help="all, or one of rules, llm, hybrid (or any "
                                "registered planner)."),
    llm: Optional[Path] = LlmOpt,
    split: Optional[str] = typer.Option(None, "--split", help="Only phrases of this split (dev, holdout)."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only the first N phrases."),
    failures: int = typer.Option(0, "--failures", min=0, help="Show up to N failed phrases per planner."),
    json_mode: bool = JsonOpt,
) -> None:
    """Exact-match and per-field accuracy, and latency, of each planner on labelled phrases."""
    from fashrec.evaluation.planner import (
        evaluate_planners,
        load_cases,
        load_vocabularies,
    )
    from fashrec.planner import available_planners, create_planner

    with handled(json_mode):
        if not data.exists():
            raise UsageError(f"labelled phrases not found: {data}",
                             hint="pass --data FILE")
        cases = load_cases(data)
        if split:
            cases = [c for c in cases if c.split == split]
        if limit:
            cases = cases[:limit]
        if not cases:
            raise UsageError("no phrases to evaluate")
        vocabularies = load_vocabularies(vocabulary or data.parent / VOCABULARY_NAME)
        names = ["rules", "llm", "hybrid"] if planner == "all" else [planner]
        unknown = [n for n in names if n not in available_planners()]
        if unknown:
            raise UsageError(f"unknown planner '{unknown[0]}'", hint=f"choose from {', '.join(available_planners())}")
        options = {"model_path": str(llm)} if llm else {}
        planners = {n: create_planner(n, **(options if n != "rules" else {})) for n in names}
        with progress_bar("Planning", len(cases) * len(planners), enabled=not json_mode) as advance:
            report = evaluate_planners(planners, cases, vocabularies, data=str(data), advance=advance)

        def render() -> None:
            render_eval(report, failures)

        emit(report, json_mode=json_mode, render=render)


def render_eval(report, show_failures: int) -> None:
    """Two narrow tables (they must fit 80 columns): overall, then accuracy per field."""
    fields = ["set", "exclude", "price", "drop", "stock", "relative"]
    overall = Table(title=f"Planners on {report.data}", header_style="bold")
    for column, justify in (("planner", "left"), ("phrases", "right"), ("exact", "right"),
                            ("p50 ms", "right"), ("p95 ms", "right"), ("fallbacks", "right")):
        overall.add_column(column, justify=justify)  # type: ignore[arg-type]
    per_field = Table(title="Accuracy per field (exact = set+exclude+price+drop+stock)", header_style="bold")
    per_field.add_column("planner")
    for f in fields:
        per_field.add_column(f, justify="right")
    for s in report.scores:
        overall.add_row(s.planner, str(s.cases), f"{s.exact_match:.1%}", f"{s.latency_p50_ms:.1f}",
                        f"{s.latency_p95_ms:.1f}", str(s.fallbacks))
        per_field.add_row(s.planner, *[f"{s.fields[f]:.1%}" for f in fields])
    stdout.print(overall)
    stdout.print(per_field)
    for s in report.scores:
        splits = ", ".join(f"{k} {v:.1%}" for k, v in s.exact_by_split.items())
        stdout.print(f"[bold]{s.planner}[/] exact by split: {splits}", highlight=False)
    for s in report.scores:
        for failure in s.failures[:show_failures]:
            got = failure["got"]
            stdout.print(f"[red]{s.planner}[/] {failure['text']!r} [dim]({failure['vocabulary']})[/] wrong: "
                         f"{', '.join(failure['wrong'])}; got set={got['set']} exclude={got['exclude']} "
                         f"price={got['price']} drop={got['drop']}", highlight=False)
