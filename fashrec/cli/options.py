"""CLI layer: the one option set every command shares, so the same flag means the same thing everywhere.

Each option names its metavar (what the value looks like in --help); :class:`fashrec.cli.app.Command`
fills in the others from their type.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from fashrec.cli.batch import MAX_K, MAX_OFFSET, MAX_STEPS, batch_help

IndexOpt = typer.Option(None, "--index", metavar="DIR", help="Index folder (default: $FASHREC_INDEX, the "
                        "*.fashrec-index folder here, or the last index built).")
JsonOpt = typer.Option(False, "--json", help="Print one JSON document on stdout (errors: JSON on stderr).")
KOpt = typer.Option(10, "-k", "--top-k", min=1, max=MAX_K, metavar="N", help="How many results.")
WhereOpt = typer.Option(None, "--where", "-w", metavar="ATTR=VALUE",
                        help="Hard filter (repeatable): attr=value, attr!=value, price<50, price>=20, "
                             "price=20..40; brand=... and size=... filter the products' own fields.")
SheetOpt = typer.Option(None, "--sheet", metavar="PNG", help="Also write a contact sheet PNG of the results.")


def batch_option(command: str):
    """``--batch FILE``; its help shows the command's line format (:data:`fashrec.cli.batch.FORMATS`)."""
    return typer.Option(None, "--batch", metavar="FILE", help=batch_help(command))


LlmOpt = typer.Option(None, "--llm", metavar="GGUF", help="A GGUF model file for the llm/hybrid planner "
                      "(default: the embedded SmolLM2-135M-Instruct).")
MaxStepsOpt = typer.Option(5, "--max-steps", min=1, max=MAX_STEPS, metavar="N", help="Bound on re-planning steps.")
AskBelowOpt = typer.Option(None, "--ask-below", min=0.0, max=1.01, metavar="C", help="Also ask to confirm the "
                           "anchor's category, gender, colour, material or pattern when read below this confidence "
                           "(default: ask only about those read too unsurely to keep, under 0.5).")
AnchorOpt = typer.Option(None, "--anchor", "-a", metavar="ATTR=VALUE", help="Correct what was read from the anchor: attribute=value "
                         "(repeatable), e.g. --anchor category=dresses.")
IdOpt = typer.Option(None, "--id", metavar="SKU", help="Start from a catalog product (its id) instead of an image.")
StrictOpt = typer.Option(False, "--strict", help="Exact matches only: when fewer than k satisfy everything, "
                         "say so (with what each relaxation would yield) but list no near misses.")
RelaxOpt = typer.Option(None, "--relax", metavar="N", help="Take way forward N of a short answer (the numbers "
                        "it lists under \"Ways forward\"): the same request, its constraints released, answered "
                        "again; repeat to take a way forward of that answer too.")
ExplainOpt = typer.Option(False, "--explain", help="Show the agent's steps and full reasons.")
NoProfileOpt = typer.Option(False, "--no-profile", help="Ignore the personal profile for this command.")
StrategyOpt = typer.Option("ammr", "--strategy", metavar="ammr|image|text|fusion",
                           help="ammr (the agent loop) or a single-shot baseline.")
SessionOpt = typer.Option(None, "--session", metavar="NAME", help="Conversation name: IMAGE + TEXT (re)starts "
                          "it, TEXT alone refines its last turn (stored in $FASHREC_HOME/sessions.sqlite).")
PickOpt = typer.Option(None, "--pick", min=1, metavar="N", help="Continue from result N of the session's last "
                       "turn (\"more like the third one\").")
OccasionOpt = typer.Option(None, "--occasion", "-o", metavar="OCCASION", help="An occasion (party, wedding, "
                           "office, gym, travel...), read like refine reads it and mapped onto the catalog's usage "
                           "values; one the catalog has no value for is refused. Default: the anchor's usage.")
ModelOpt = typer.Option(None, "--model", metavar="SPEC", help="Encoder for the evaluation index.")
WorkdirOpt = typer.Option(None, "--workdir", metavar="DIR", help="Where the evaluation index is kept.")
SeedOpt = typer.Option(0, "--seed", metavar="N")
RuntimeOpt = typer.Option(None, "--runtime", metavar="auto|onnx|torch", help="Encoder runtime: auto (ONNX "
                          "when a verified export exists, else torch with a note), onnx (fail instead of falling "
                          "back) or torch. Default: $FASHREC_RUNTIME, else auto.")
IndexRuntimeOpt = typer.Option(None, "--runtime", metavar="auto|onnx|torch", help="torch: skip exporting the "
                               "encoder for torch-free queries (default: $FASHREC_RUNTIME, else auto: export it "
                               "once per encoder).")
ServerOpt = typer.Option(None, "--server", metavar="URL", help="Send the request to a running `fashrec serve` at "
                         "this URL (default: $FASHREC_SERVER); same output, no model loading.")

PLANNERS = {
    "refine": ("hybrid|rules|llm", "How the request is read: hybrid (rules, plus the LLM for words they "
               "cannot explain), rules (instant) or llm."),
    "search": ("rules|hybrid|llm|none", "How the query is understood before searching: rules (instant), "
               "hybrid or llm (slower), or none for embedding similarity alone."),
}


def planner_option(default: str = "hybrid", kind: str = "refine"):
    """``--planner``: refinements default to hybrid, static search to the instant rules planner."""
    metavar, help = PLANNERS[kind]
    return typer.Option(default, "--planner", metavar=metavar, help=help)


PlannerOpt = planner_option()
SearchPlannerOpt = planner_option("rules", "search")
SortOpt = typer.Option("relevance", "--sort", metavar="relevance|price|-price",
                       help="Order of the results: by relevance, or the most relevant by price (cheapest or "
                            "dearest first; unpriced last).")
OffsetOpt = typer.Option(0, "--offset", min=0, max=MAX_OFFSET, metavar="N",
                         help="Skip the first N results (the next page: --offset 10 with -k 10).")


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


def split_positionals(image: Optional[Path], text: Optional[str]) -> tuple[Optional[Path], Optional[str]]:
    """`refine --session s1 "shorter sleeves"`: a lone argument that is no image file is the request."""
    if image is not None and text is None and not image.exists() and image.suffix.lower() not in IMAGE_SUFFIXES:
        return None, str(image)
    return image, text
