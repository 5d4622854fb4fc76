"""CLI layer: the typer application object. Command modules attach themselves when imported (all of them in
``fashrec.cli.commands``; only the one being run in ``fashrec.cli.main``)."""

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


@app.callback()
def _fashrec() -> None:
    """Local-first fashion recommender: index a catalog, search it, refine an anchor image with words."""
    # A callback keeps `fashrec` a group when only the one command being run is registered
    # (fashrec.cli.main imports just its module); without one, typer would make that command the root.
