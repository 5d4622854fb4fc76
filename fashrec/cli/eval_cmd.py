"""`fashrec eval refine` and `fashrec eval search`: strategies side by side on a catalog's own benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from fashrec.cli.app import eval_app
from fashrec.cli.options import JsonOpt
from fashrec.cli.output import emit, handled, progress_bar, stdout


@eval_app.command("refine")
def eval_refine(
    catalog: Path = typer.Argument(..., help="Catalog JSONL; its evaluation slice becomes the anchors."),
    n: int = typer.Option(200, "--n", min=1, help="Number of requests."),
    seed: int = typer.Option(0, "--seed"),
    strategies: str = typer.Option("ammr,image,text,fusion", "--strategies"),
    planner: str = typer.Option("hybrid", "--planner"),
    llm: Optional[Path] = typer.Option(None, "--llm"),
    model: Optional[str] = typer.Option(None, "--model", help="Encoder for the evaluation index."),
    workdir: Optional[Path] = typer.Option(None, "--workdir", help="Where the evaluation index is kept."),
    json_mode: bool = JsonOpt,
) -> None:
    """Precision@10, hit@10, anchor preservation and latency for ammr and the single-shot baselines."""
    from fashrec.evaluation.refine import evaluate_refine

    with handled(json_mode):
        with progress_bar("Refining", n, enabled=not json_mode) as advance:
            report = evaluate_refine(catalog, n=n, seed=seed, strategies=tuple(s.strip() for s in strategies.split(",")),
                                     planner=planner, llm_path=str(llm) if llm else None, workdir=workdir,
                                     model=model, progress=advance)

        def render() -> None:
            stdout.print(f"[bold]{report.requests}[/] requests over {report.indexed} indexed products "
                         f"({', '.join(f'{k} {v}' for k, v in report.kinds.items())}); planner {report.planner}")
            table = Table("strategy", "P@10", "hit@10", "anchor kept", "p50 ms", "p95 ms", "P@10 by kind",
                          "brands (Gini)", header_style="bold")
            for s in report.strategies:
                table.add_row(s.strategy, f"{s.precision_at_10:.3f}", f"{s.hit_at_10:.3f}",
                              f"{s.anchor_preservation:.3f}", f"{s.latency_p50_ms:.0f}", f"{s.latency_p95_ms:.0f}",
                              " ".join(f"{k}={v:.2f}" for k, v in s.by_kind.items()),
                              f"{s.brand_exposure.get('brands', 0)} ({s.brand_exposure.get('gini', 0):.2f})")
            stdout.print(table)
            stdout.print("[dim]load (ms, excluded from latency): "
                         + ", ".join(f"{k} {v:.0f}" for k, v in report.load_ms.items()) + "[/]")
        emit(report, json_mode=json_mode, render=render)


@eval_app.command("search")
def eval_search(
    catalog: Path = typer.Argument(..., help="Catalog JSONL; its indexed part (as in eval refine) is searched."),
    n: int = typer.Option(200, "--n", min=1, help="Number of queries."),
    seed: int = typer.Option(0, "--seed"),
    strategies: str = typer.Option("embedding,rules", "--strategies",
                                   help="embedding (similarity alone) and/or planners: rules, hybrid, llm."),
    model: Optional[str] = typer.Option(None, "--model", help="Encoder for the evaluation index."),
    workdir: Optional[Path] = typer.Option(None, "--workdir", help="Where the evaluation index is kept."),
    json_mode: bool = JsonOpt,
) -> None:
    """Precision@10 of text search: by embedding alone, and understood by a planner first."""
    from fashrec.evaluation.search import evaluate_search

    with handled(json_mode):
        with progress_bar("Searching", n, enabled=not json_mode) as advance:
            report = evaluate_search(catalog, n=n, seed=seed, strategies=tuple(s.strip() for s in strategies.split(",")),
                                     workdir=workdir, model=model, progress=advance)

        def render() -> None:
            stdout.print(f"[bold]{report.queries}[/] queries over {report.indexed} indexed products "
                         f"({', '.join(f'{k} {v}' for k, v in report.kinds.items())})")
            table = Table("strategy", "P@10", "hit@10", "p50 ms", "p95 ms", "P@10 by kind", header_style="bold")
            for s in report.strategies:
                table.add_row(s.strategy, f"{s.precision_at_10:.3f}", f"{s.hit_at_10:.3f}", f"{s.latency_p50_ms:.1f}",
                              f"{s.latency_p95_ms:.1f}", " ".join(f"{k}={v:.2f}" for k, v in s.by_kind.items()))
            stdout.print(table)
        emit(report, json_mode=json_mode, render=render)
