"""CLI layer: the typer application object. Command modules attach themselves in ``fashrec.cli.commands``."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="fashrec",
    help="Local-first fashion recommender: index a catalog, search it, refine an anchor image with words.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(help="Measure fashrec on a catalog (planner, refinement, dialogue, outfits).",
                       no_args_is_help=True)
app.add_typer(eval_app, name="eval")
