"""CLI layer: `fashrec eval ...`, every benchmark from the command line (one subcommand per benchmark)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import typer
from rich.table import Table

from fashrec.ammr.constraints import KEEP_CONFIDENCE
from fashrec.cli.app import eval_app
from fashrec.cli.options import (
    AskBelowOpt,
    JsonOpt,
    LlmOpt,
    ModelOpt,
    OccasionOpt,
    PlannerOpt,
    SeedOpt,
    WorkdirOpt,
)
from fashrec.cli.output import dumps, emit, handled, note, progress_bar, stdout
from fashrec.errors import UsageError
from fashrec.evaluation.anchor import CONFIDENT, AnchorEvalReport, evaluate_anchor
from fashrec.evaluation.dialogue import evaluate_dialogue
from fashrec.evaluation.encoder import evaluate_catalog
from fashrec.evaluation.outfit import evaluate_outfits
from fashrec.evaluation.planner import (
    DEFAULT_PHRASES,
    evaluate_planners,
    load_cases,
    load_vocabularies,
)
from fashrec.evaluation.refine import evaluate_refine
from fashrec.evaluation.search import SearchEvalReport, evaluate_search
from fashrec.evaluation.shortfall import evaluate_shortfall
from fashrec.planner import available_planners, create_planner

VOCABULARY_NAME = "planner_vocabulary.json"


@eval_app.command("anchor")
def eval_anchor(
    catalog: Path = typer.Argument(..., help="Catalog JSONL; its evaluation slice (as in eval refine) is read."),
    n: Optional[int] = typer.Option(None, "--n", min=1, metavar="N", help="Read only a seeded sample of N photos."),
    seed: int = SeedOpt,
    model: Optional[str] = ModelOpt,
    workdir: Optional[Path] = WorkdirOpt,
    details: bool = typer.Option(True, "--details/--no-details",
                                 help="Calibration table and costliest confusions of the shipped reader."),
    json_mode: bool = JsonOpt,
) -> None:
    """How well the anchor stage reads unseen photos: accuracy, calibration, confusions, joint rate, ms.

    Examples:
    fashrec eval anchor catalog.jsonl --n 500
    fashrec eval anchor catalog.jsonl --no-details --json
    """

    with handled(json_mode):
        note("reading the evaluation photos (the index of the other products is built first if needed)")
        report = evaluate_anchor(catalog, n=n, seed=seed, workdir=workdir, model=model)
        emit(report, json_mode=json_mode, render=lambda: _render_anchor(report, details))


def _render_anchor(report: AnchorEvalReport, details: bool) -> None:
    stdout.print(f"[bold]{report.anchors}[/] photos read against {report.indexed} indexed products"
                 + (f" ({report.unreadable} unreadable, not scored)" if report.unreadable else ""))
    joint = "+".join(report.joint)
    table = Table("reader", *report.attributes, "joint", "kept wrong", "ms/anchor", header_style="bold")
    sure = Table("reader", *(f"{a} @{CONFIDENT:g}" for a in report.joint), header_style="bold")
    for r in report.readers:
        accs = [f"{r.attributes[a].accuracy:.3f}" if a in r.attributes else "-" for a in report.attributes]
        ms = report.ms_per_anchor(r)
        table.add_row(r.reader, *accs, "-" if r.joint is None else f"{r.joint:.3f}",
                      "-" if r.joint_kept_wrong is None else f"{r.joint_kept_wrong:.3f}",
                      "-" if ms is None else f"{ms:.1f}")
        sure.add_row(r.reader, *(f"{s.confident_accuracy:.3f} of {s.confident_share:.2f}"
                                 if (s := r.attributes.get(a)) and s.confident_accuracy is not None else "-"
                                 for a in report.joint))
    stdout.print(table)
    stdout.print(f"[dim]joint: {joint} all right; kept wrong: one of them wrong yet read surely enough to be"
                 f" kept (>= {KEEP_CONFIDENCE:g}), so refine neither shows it as unsure nor asks. Below: accuracy"
                 f" among guesses at confidence >= {CONFIDENT:g}, of the share of photos guessed that confidently.[/]")
    stdout.print(sure)
    ex = report.exact_photos
    if ex.anchors:
        stdout.print(f"[dim]{ex.anchors} photos are byte-identical to an indexed product's; the two share "
                     + ", ".join(f"{a} {v:.2f}" for a, v in ex.agreement.items() if v is not None)
                     + ("" if ex.joint_agreement is None else f", {joint} {ex.joint_agreement:.2f}")
                     + " (label noise: a ceiling for any reader)[/]")
    stdout.print(f"[dim]embedding one photo: {report.embed_ms:.1f} ms (median, warm, {report.runtime} runtime)[/]")
    if details and report.readers:
        _render_details(report.readers[0])


def _render_details(reader) -> None:
    for attr, s in reader.attributes.items():
        table = Table(f"{attr}: confidence", "count", "accuracy", "mean conf.", header_style="bold")
        for b in s.calibration:
            if b.count:
                table.add_row(b.to_dict()["bin"], str(b.count), f"{b.accuracy:.3f}", f"{b.mean_confidence:.3f}")
        stdout.print(table)
        stdout.print(f"[dim]{attr}: ECE {s.ece:.3f}; costliest confusions (label -> guess): "
                     + ", ".join(f"{t} -> {g} {n}" for t, g, n, _ in s.confusions[:5]) + "[/]")
        if s.unsure_accuracy is not None:
            stdout.print(f"[dim]{attr}: unsure (not kept, asked) for {s.unsure_share:.0%} of photos: the value "
                         f"right {s.unsure_accuracy:.0%}, the label among the {s.unsure_options:.1f} values "
                         f"offered {s.unsure_offered:.0%}; kept and wrong for {s.kept_wrong:.0%}[/]",
                         highlight=False)


@eval_app.command("refine")
def eval_refine(
    catalog: Path = typer.Argument(..., help="Catalog JSONL; its evaluation slice becomes the anchors."),
    n: int = typer.Option(200, "--n", min=1, help="Number of requests."),
    seed: int = SeedOpt,
    strategies: str = typer.Option("ammr,image,text,fusion", "--strategies", metavar="LIST",
                                   help="Comma-separated; also ammr-labelled (the anchors' own labels instead of "
                                        "their reading) and ammr-answered (refine's questions about an unsure "
                                        "anchor answered with its labels)."),
    planner: str = PlannerOpt,
    llm: Optional[Path] = LlmOpt,
    model: Optional[str] = ModelOpt,
    workdir: Optional[Path] = WorkdirOpt,
    ask_below: Optional[float] = AskBelowOpt,
    json_mode: bool = JsonOpt,
) -> None:
    """Precision@10, hit@10, anchor preservation and latency for ammr and the single-shot baselines.

    Examples:
    fashrec eval refine catalog.jsonl --n 200
    fashrec eval refine catalog.jsonl --n 50 --strategies ammr,fusion --planner rules --json
    """

    with handled(json_mode):
        with progress_bar("Refining", n, enabled=not json_mode) as advance:
            report = evaluate_refine(catalog, n=n, seed=seed, strategies=tuple(s.strip() for s in strategies.split(",")),
                                     planner=planner, llm_path=str(llm) if llm else None, workdir=workdir,
                                     model=model, progress=advance, ask_below=ask_below)

        def render() -> None:
            stdout.print(f"[bold]{report.requests}[/] requests over {report.indexed} indexed products "
                         f"({', '.join(f'{k} {v}' for k, v in report.kinds.items())}); planner {report.planner}")
            table = Table("strategy", "P@10", "hit@10", "anchor kept", "asked", "p50 ms", "p95 ms", "P@10 by kind",
                          "brands (Gini)", header_style="bold")
            for s in report.strategies:
                table.add_row(s.strategy, f"{s.precision_at_10:.3f}", f"{s.hit_at_10:.3f}",
                              f"{s.anchor_preservation:.3f}", f"{s.asked:.2f}",
                              f"{s.latency_p50_ms:.0f}", f"{s.latency_p95_ms:.0f}",
                              " ".join(f"{k}={v:.2f}" for k, v in s.by_kind.items()),
                              f"{s.brand_exposure.get('brands', 0)} ({s.brand_exposure.get('gini', 0):.2f})")
            stdout.print(table)
            honesty = Table("strategy", "rows breaking a promise", "shortfall declared", "short, undeclared",
                            "alternatives / answer", "P@10 shown (results, then alternatives)",
                            "filled by the other reading", header_style="bold")
            for s in report.strategies:
                honesty.add_row(s.strategy, f"{s.violation_rate:.3f}", f"{s.shortfall_rate:.3f}",
                                str(s.undeclared_shortfalls), f"{s.alternatives_per_answer:.2f}",
                                f"{s.shown_precision_at_10:.3f}", f"{s.other_reading_rate:.3f}")
            stdout.print(honesty)
            stdout.print("[dim]load (ms, excluded from latency): "
                         + ", ".join(f"{k} {v:.0f}" for k, v in report.load_ms.items()) + "[/]")
        emit(report, json_mode=json_mode, render=render)


@eval_app.command("search")
def eval_search(
    catalog: Path = typer.Argument(..., help="Catalog JSONL; its indexed part (as in eval refine) is searched."),
    n: int = typer.Option(200, "--n", min=1, help="Number of queries."),
    seed: int = SeedOpt,
    strategies: str = typer.Option("embedding,rules", "--strategies", metavar="LIST",
                                   help="embedding (similarity alone) and/or planners: rules, hybrid, llm."),
    model: Optional[str] = ModelOpt,
    workdir: Optional[Path] = WorkdirOpt,
    short: int = typer.Option(60, "--short", min=0, metavar="N",
                              help="Also N queries with 0-5 relevant products: is each shortfall said?"),
    json_mode: bool = JsonOpt,
) -> None:
    """Precision@10 of text search: by embedding alone, and understood by a planner first; with each
    answer's honesty (result rows breaking what the query asked, shortfalls declared).

    Examples:
    fashrec eval search catalog.jsonl --n 200
    fashrec eval search catalog.jsonl --n 50 --short 0 --json
    """

    with handled(json_mode):
        with progress_bar("Searching", n, enabled=not json_mode) as advance:
            report = evaluate_search(catalog, n=n, seed=seed, strategies=tuple(s.strip() for s in strategies.split(",")),
                                     workdir=workdir, model=model, progress=advance, short=short)
        emit(report, json_mode=json_mode, render=lambda: _render_search(report))


def _render_search(report: SearchEvalReport) -> None:
    stdout.print(f"[bold]{report.queries}[/] queries over {report.indexed} indexed products "
                 f"({', '.join(f'{k} {v}' for k, v in report.kinds.items())})")
    table = Table("strategy", "P@10", "hit@10", "p50 ms", "p95 ms", "P@10 by kind", "violating rows",
                  "shortfall declared", "short, unsaid", header_style="bold")
    for s in report.strategies:
        table.add_row(s.strategy, f"{s.precision_at_10:.3f}", f"{s.hit_at_10:.3f}", f"{s.latency_p50_ms:.1f}",
                      f"{s.latency_p95_ms:.1f}", " ".join(f"{k}={v:.2f}" for k, v in s.by_kind.items()),
                      "-" if s.violating_rows is None else f"{s.violating_rows} of {s.result_rows}",
                      "-" if s.declared is None else f"{s.declared:.3f}", "-" if s.undeclared is None else str(s.undeclared))
    stdout.print(table)
    if not report.short:
        return
    spread = ", ".join(f"{k}: {v}" for k, v in sorted(report.short_queries.items()))
    stdout.print(f"Short queries (relevant products {spread}):")
    short = Table("strategy", "queries", "misread", "declared", "found right", "violating rows", "near misses shown",
                  header_style="bold")
    for s in report.short:
        short.add_row(s.strategy, str(s.queries), str(s.misread), f"{s.declared:.3f}", f"{s.found_right:.3f}",
                      f"{s.violating_rows} of {s.result_rows}", f"{s.with_alternatives:.3f}")
    stdout.print(short)


@eval_app.command("shortfall")
def eval_shortfall(
    catalog: Path = typer.Argument(..., help="Catalog JSONL; its evaluation slice becomes the anchors."),
    n: int = typer.Option(120, "--n", min=1, metavar="N", help="Number of requests (spread over 0-5 exact matches)."),
    seed: int = SeedOpt,
    planner: str = typer.Option("rules", "--planner", help="Planner reading the requests."),
    model: Optional[str] = ModelOpt,
    workdir: Optional[Path] = WorkdirOpt,
    json_mode: bool = JsonOpt,
) -> None:
    """Requests with 0-5 exact matches: is each shortfall said, and each relaxation named with its count?

    Examples:
    fashrec eval shortfall ~/.cache/fashrec-data/catalog.jsonl --n 120
    """

    with handled(json_mode):
        with progress_bar("Answering", n, enabled=not json_mode) as advance:
            report = evaluate_shortfall(catalog, n=n, seed=seed, workdir=workdir, model=model, planner=planner,
                                        progress=advance)

        def render() -> None:
            spread = ", ".join(f"{k}: {v}" for k, v in sorted(report.by_exact.items()))
            stdout.print(f"[bold]{report.requests}[/] requests by exact matches ({spread}); "
                         f"{report.misread} read otherwise, not scored")
            table = Table("result rows breaking a promise", "answers over the exact count", "shortfall said",
                          "found = results", "found = exact matches", "exact matches found", "relaxations named with their count",
                          "near misses shown", "p50 ms", header_style="bold")
            table.add_row(f"{report.violating_rows} of {report.result_rows}", str(report.over_exact),
                          f"{report.declared:.3f}", f"{report.found_right:.3f}", f"{report.found_all:.3f}",
                          f"{report.exact_recall:.3f}",
                          f"{report.named:.3f} of {report.relaxations}", f"{report.with_alternatives:.3f}",
                          f"{report.latency_p50_ms:.0f}")
            stdout.print(table)
            for miss in report.named_wrong:
                stdout.print(f"[yellow]not named right:[/] {miss}", highlight=False)
        emit(report, json_mode=json_mode, render=render)


@eval_app.command("planner")
def eval_planner_command(
    data: Path = typer.Option(DEFAULT_PHRASES, "--data", metavar="FILE",
                              help="Labelled phrases (JSONL; default: the ones shipped with fashrec)."),
    vocabulary: Optional[Path] = typer.Option(None, "--vocabulary", metavar="FILE",
                                              help=f"Vocabularies the phrases name "
                                              f"(default: {VOCABULARY_NAME} next to --data)."),
    planner: str = typer.Option("all", "--planner", metavar="all|NAME",
                                help="all, or one of rules, llm, hybrid (or any "
                                "registered planner)."),
    llm: Optional[Path] = LlmOpt,
    split: Optional[str] = typer.Option(None, "--split", metavar="dev|holdout",
                                        help="Only phrases of this split (dev, holdout)."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only the first N phrases."),
    failures: int = typer.Option(0, "--failures", min=0, help="Show up to N failed phrases per planner."),
    json_mode: bool = JsonOpt,
) -> None:
    """Exact-match and per-field accuracy, and latency, of each planner on labelled phrases.

    Examples:
    fashrec eval planner --planner rules
    fashrec eval planner --planner all --json
    """

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
    fields = ["set", "exclude", "price", "drop", "stock", "brand", "size", "relative"]
    overall = Table(title=f"Planners on {report.data}", header_style="bold")
    for column, justify in (("planner", "left"), ("phrases", "right"), ("exact", "right"),
                            ("p50 ms", "right"), ("p95 ms", "right"), ("fallbacks", "right")):
        overall.add_column(column, justify=justify)  # type: ignore[arg-type]
    per_field = Table(title="Accuracy per field (exact = all but relative)", header_style="bold")
    per_field.add_column("planner")
    for f in fields:   # short headers: eight columns of percentages in 80 characters
        per_field.add_column({"exclude": "excl", "relative": "rel"}.get(f, f), justify="right")
    for s in report.scores:
        overall.add_row(s.planner, str(s.cases), f"{s.exact_match:.1%}", f"{s.latency_p50_ms:.1f}",
                        f"{s.latency_p95_ms:.1f}", str(s.fallbacks))
        per_field.add_row(s.planner, *[f"{s.fields[f]:.1%}" if s.fields[f] < 1 else "100%" for f in fields])
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


@eval_app.command("dialogue")
def eval_dialogue(
    catalog: Path = typer.Argument(..., help="Catalog JSONL; its evaluation slice gives targets and anchors."),
    n: int = typer.Option(50, "--n", min=1, help="Number of simulated shoppers."),
    max_turns: int = typer.Option(5, "--max-turns", min=1, max=20, help="Turns before a shopper gives up."),
    seed: int = SeedOpt,
    strategies: str = typer.Option("ammr,fusion", "--strategies", metavar="LIST",
                                   help="Comma-separated: ammr (multi-turn session), ammr-stateless, fusion."),
    planner: str = PlannerOpt,
    llm: Optional[Path] = LlmOpt,
    model: Optional[str] = ModelOpt,
    workdir: Optional[Path] = WorkdirOpt,
    traces: Optional[Path] = typer.Option(None, "--traces", metavar="FILE",
                                          help="Also write every conversation as JSONL."),
    json_mode: bool = JsonOpt,
) -> None:
    """Success within 1/3/5 turns and mean turns for a simulated shopper, AMMR sessions vs single-shot.

    Examples:
    fashrec eval dialogue catalog.jsonl --n 50 --max-turns 5 --planner rules
    """

    with handled(json_mode):
        with progress_bar("Dialogues", n, enabled=not json_mode) as advance:
            report = evaluate_dialogue(catalog, n=n, max_turns=max_turns, seed=seed,
                                       strategies=tuple(s.strip() for s in strategies.split(",") if s.strip()),
                                       planner=planner, llm_path=str(llm) if llm else None, workdir=workdir,
                                       model=model, progress=advance)
        if traces:
            traces.write_text("".join(dumps(t, indent=None) + "\n" for t in report.traces))
            note(f"traces: {traces}")

        def render() -> None:
            data = report.to_dict()
            stdout.print(f"[bold]{report.dialogues}[/] simulated shoppers, up to {report.max_turns} turns, over "
                         f"{report.indexed} indexed products; planner {report.planner}", highlight=False)
            stdout.print(f"[dim]success = {data['success']}[/]", highlight=False)
            marks = list(data["strategies"][0]["success_at"]) if data["strategies"] else []
            table = Table("strategy", *[f"≤{m} turns" for m in marks], "exact@10", "mean turns", "capped",
                          "by #differences", "p50 ms/turn", header_style="bold")
            for s in data["strategies"]:
                mean = f"{s['mean_turns']:.2f}" if s["mean_turns"] is not None else "-"
                table.add_row(s["strategy"], *[f"{s['success_at'][m]:.3f}" for m in marks],
                              f"{s['exact_target_hit']:.3f}", mean, f"{s['mean_turns_capped']:.2f}",
                              " ".join(f"{d}:{v:.2f}" for d, v in s["by_differences"].items()),
                              f"{s['turn_latency_p50_ms']:.0f}")
            stdout.print(table)
            for example in data["examples"][:2]:
                said = " / ".join(f'"{t["text"]}"' for t in example["turns"])
                ending = f"success at turn {example['success_turn']}" if example["success_turn"] else "not reached"
                stdout.print(f"[dim]{example['strategy']}: anchor {example['anchor']} -> target {example['target']}: "
                             f"{said} -> {ending}[/]", highlight=False)
        emit(report, json_mode=json_mode, render=render)


@eval_app.command("encoder")
def eval_encoder(
    catalog: Path = typer.Argument(..., help="Catalog (JSONL); only its evaluation items "
                              "(held-out and validation slices) are used."),
    model: Optional[str] = typer.Option(None, "--model", metavar="SPEC", help="Encoder spec (default: fashrec-mini)."),
    no_baseline: bool = typer.Option(False, "--no-baseline", help="Skip the random-init comparison."),
    json_mode: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Zero-shot attribute accuracy and retrieval precision of an encoder on held-out items.

    Examples:
    fashrec eval encoder catalog.jsonl
    """
    with handled(json_mode):

        with _phase_progress() as (on_phase, advance):
            evaluation = evaluate_catalog(catalog, model, baseline=not no_baseline, progress=advance,
                                          on_phase=on_phase)
        data = evaluation.to_dict()

        def render() -> None:
            render_validation(data["model"], data["random_init"], data["targets"])
            missed = [k for k, t in data["targets"].items() if not t["met"]]
            if missed:
                note(f"below target: {', '.join(missed)}")

        emit(data, json_mode=json_mode, render=render)


@contextmanager
def _phase_progress() -> Iterator[tuple[Callable[[str, int], None], Callable[[int], None]]]:
    """One progress bar per encoded image set ("model", then "random init")."""
    stack: list[Any] = []
    current: list[Callable[[int], None]] = [lambda n=1: None]

    def on_phase(name: str, total: int) -> None:
        while stack:
            stack.pop().__exit__(None, None, None)
        bar = progress_bar(f"encoding held-out images ({name})", total)
        current[0] = bar.__enter__()
        stack.append(bar)

    try:
        yield on_phase, lambda n=1: current[0](n)
    finally:
        while stack:
            stack.pop().__exit__(None, None, None)


def render_validation(validation: dict[str, Any] | None, baseline: dict[str, Any] | None = None,
                       targets: dict[str, Any] | None = None) -> None:
    if not validation:
        return
    table = Table(title=f"evaluation items (held out from training): {validation['items']}")
    table.add_column("metric")
    table.add_column("model", justify="right")
    if baseline:
        table.add_column("random init", justify="right")
    if targets:
        table.add_column("target", justify="right")

    def row(name: str, key: str, value: Any, base: Any) -> None:
        cells = [name, "-" if value is None else f"{value:.3f}"]
        if baseline:
            cells.append("-" if base is None else f"{base:.3f}")
        if targets:
            t = targets.get(key)
            cells.append("" if t is None else f"{t['target']:.2f} {'ok' if t['met'] else 'MISSED'}")
        table.add_row(*cells)

    for attr, acc in validation["zero_shot"].items():
        base = baseline["zero_shot"].get(attr, {}).get("accuracy") if baseline else None
        row(f"zero-shot {attr} top-1 ({acc['classes']} classes)", attr, acc["accuracy"], base)
    row(f"text->image P@10 ({validation['text_queries']} queries)", "text_to_image_p10",
        validation["text_to_image_p10"], baseline and baseline["text_to_image_p10"])
    row(f"image->image P@10 ({validation['image_queries']} queries)", "image_to_image_p10",
        validation["image_to_image_p10"], baseline and baseline["image_to_image_p10"])
    stdout.print(table)


def render_outfit_eval(data: dict[str, Any]) -> None:
    stdout.print(f"[bold]{data['anchors']}[/] anchors ({', '.join(f'{g} {c}' for g, c in data['anchor_groups'].items())})"
                 f" over {data['items']} indexed products, {data['n']} outfits each"
                 + (f", occasion {data['occasion']}" if data["occasion"] else ""))
    rows = [
        ("outfits per anchor", "outfits_per_anchor"), ("gender agreement", "gender_agreement"),
        ("usage exact", "usage_exact"), ("usage compatible", "usage_compatible"),
        ("season exact", "season_exact"), ("season compatible", "season_compatible"),
        ("slot coverage", "slot_coverage"), ("optional slots filled", "optional_filled"),
        ("colour harmony mean", "colour_mean"), ("colour harmony p10", "colour_p10"),
        ("clash rate", "clash_rate"), ("> 1 loud colour", "loud_violation_rate"),
        ("double denim", "double_denim_rate"),
        ("distinct pieces", "distinct_piece_share"), ("Jaccard distance", "jaccard_distance"),
        ("embedding dissimilarity", "embedding_dissimilarity"),
        ("latency p50 ms", "latency_p50_ms"), ("latency p95 ms", "latency_p95_ms"),
    ]
    table = Table("measure", "outfit composer", "random baseline", header_style="bold")
    for label, key in rows:
        table.add_row(label, f"{data['composer'][key]:.3f}",
                      "-" if key.startswith("latency") else f"{data['baseline'][key]:.3f}")
    stdout.print(table)
    stdout.print("[dim]load (ms, excluded from latency): "
                 + ", ".join(f"{k} {v:.0f}" for k, v in data["load_ms"].items()) + "[/]")


@eval_app.command("outfit")
def eval_outfit(
    catalog: Optional[Path] = typer.Argument(None, help="Catalog JSONL (its index is built or updated first)."),
    index: Optional[Path] = typer.Option(None, "--index", metavar="DIR",
                                         help="Evaluate on this index as it is instead."),
    n_anchors: int = typer.Option(100, "--n-anchors", min=1, help="How many catalog products to dress."),
    n: int = typer.Option(3, "-n", "--outfits", min=1, max=20, help="Outfits per anchor."),
    occasion: Optional[str] = OccasionOpt,
    seed: int = SeedOpt,
    model: Optional[str] = typer.Option(None, "--model", metavar="SPEC", help="Encoder when the index must be built."),
    prompts: bool = typer.Option(False, "--prompts", help="Load the encoder for the occasion-prompt cue even "
                                 "without --occasion."),
    json_mode: bool = JsonOpt,
) -> None:
    """Consistency, colour harmony, diversity and latency of composed outfits vs a random baseline.

    Examples:
    fashrec eval outfit --index shop.fashrec-index --n-anchors 100
    """

    with handled(json_mode):
        with progress_bar("Composing outfits", n_anchors, enabled=not json_mode) as advance:
            report = evaluate_outfits(catalog, index_dir=index, n_anchors=n_anchors, n=n, occasion=occasion,
                                      seed=seed, model=model, use_encoder=prompts, progress=advance)
        data = report.to_dict()
        emit(data, json_mode=json_mode, render=lambda: render_outfit_eval(data))
