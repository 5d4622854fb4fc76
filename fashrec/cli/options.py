"""CLI layer: the one option set every command shares, so the same flag means the same thing everywhere."""

from __future__ import annotations

import typer

IndexOpt = typer.Option(None, "--index", help="Index folder (default: $FASHREC_INDEX, the *.fashrec-index "
                        "folder here, or the last index built).")
JsonOpt = typer.Option(False, "--json", help="Print one JSON document on stdout (errors: JSON on stderr).")
MAX_K, MAX_STEPS = 1000, 50   # the bounds of -k and --max-steps, also applied to --batch lines
KOpt = typer.Option(10, "-k", "--top-k", min=1, max=MAX_K, help="How many results.")
WhereOpt = typer.Option(None, "--where", "-w", help="Hard filter attr=value or attr!=value (repeatable); "
                        "brand=... and size=... filter the products' own fields.")
SheetOpt = typer.Option(None, "--sheet", help="Also write a contact sheet PNG of the results.")
BatchOpt = typer.Option(None, "--batch", help="JSONL requests from FILE ('-' for stdin); JSONL results out.")
LlmOpt = typer.Option(None, "--llm", help="A GGUF model file for the llm/hybrid planner "
                      "(default: the embedded SmolLM2-135M-Instruct).")
MaxStepsOpt = typer.Option(5, "--max-steps", min=1, max=MAX_STEPS, help="Bound on re-planning steps.")
AskBelowOpt = typer.Option(None, "--ask-below", min=0.0, max=1.01, help="Also ask to confirm the anchor's "
                           "category, gender, colour, material or pattern when read below this confidence "
                           "(default: ask only about those read too unsurely to keep, under 0.5).")
ExplainOpt = typer.Option(False, "--explain", help="Show the agent's steps and full reasons.")
NoProfileOpt = typer.Option(False, "--no-profile", help="Ignore the personal profile for this command.")
StrategyOpt = typer.Option("ammr", "--strategy", help="ammr (default) or the single-shot baselines "
                           "image, text, fusion.")
SessionOpt = typer.Option(None, "--session", help="Conversation name: IMAGE + TEXT (re)starts it, TEXT alone "
                          "refines its last turn (stored in $FASHREC_HOME/sessions.sqlite).")
PickOpt = typer.Option(None, "--pick", min=1, help="Continue from result N of the session's last turn "
                       "(\"more like the third one\").")
OccasionOpt = typer.Option(None, "--occasion", "-o", help="An occasion (party, wedding, office, gym, travel...), "
                           "read like refine reads it and mapped onto the catalog's usage values; one the catalog "
                           "has no value for is refused. Default: the anchor's usage.")
ModelOpt = typer.Option(None, "--model", help="Encoder for the evaluation index.")
WorkdirOpt = typer.Option(None, "--workdir", help="Where the evaluation index is kept.")
SeedOpt = typer.Option(0, "--seed")
RuntimeOpt = typer.Option(None, "--runtime", help="Encoder runtime: auto (ONNX when a verified export "
                          "exists, else torch with a note), onnx (fail instead of falling back) or torch. "
                          "Default: $FASHREC_RUNTIME, else auto.")
IndexRuntimeOpt = typer.Option(None, "--runtime", help="torch: skip exporting the encoder for torch-free "
                               "queries (default: $FASHREC_RUNTIME, else auto: export it once per encoder).")
ServerOpt = typer.Option(None, "--server", help="Send the request to a running `fashrec serve` at this URL "
                         "(default: $FASHREC_SERVER); same output, no model loading.")

PLANNER_HELP = {
    "refine": "hybrid (default), rules or llm.",
    "search": "How the query is understood before searching: rules (instant), hybrid or llm (slower), or none "
              "for embedding similarity alone.",
}


def planner_option(default: str = "hybrid", help: str = PLANNER_HELP["refine"]):
    """``--planner``: refinements default to hybrid, static search to the instant rules planner."""
    return typer.Option(default, "--planner", help=help)


PlannerOpt = planner_option()
SearchPlannerOpt = planner_option("rules", PLANNER_HELP["search"])
