"""CLI layer: `fashrec index` (build/update) and `fashrec info` (describe an index)."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Optional

import typer

from fashrec.cli import remarks  # noqa: F401  (styles the loading remarks)
from fashrec.cli.app import app
from fashrec.cli.options import IndexOpt, IndexRuntimeOpt, JsonOpt
from fashrec.cli.output import emit, handled, literal, note, progress_bar, stdout
from fashrec.cli.render import render_info
from fashrec.encoder.runtime import check_runtime
from fashrec.errors import FashrecIndexError, UsageError
from fashrec.index import default_index_dir, index_dir_for
from fashrec.index.audit import audit_index
from fashrec.index.build import build_index, choose_engine
from fashrec.service.handlers import info_answer
from fashrec.service.runtime import open_index_for


@app.command()
def index(
    catalog: Optional[Path] = typer.Argument(None, help="Catalog JSONL (one product per line)."),
    index_dir: Optional[Path] = typer.Option(None, "--index", metavar="DIR",
                                             help="Index folder (default: next to the catalog)."),
    model: Optional[str] = typer.Option(None, "--model", metavar="SPEC",
                                        help="Encoder: fashrec-mini (default), a model "
                                        "folder, ARCH:PRETRAINED or hf-hub:ID."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Start from scratch (needed to change encoder)."),
    strict: bool = typer.Option(False, "--strict", help="Fail on the first bad line instead of skipping it."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, max=4096, metavar="N",
                                    help="Images encoded per batch."),
    runtime: Optional[str] = IndexRuntimeOpt,
    engine: str = typer.Option("local", "--engine", metavar="local|ray", help="Where images are encoded: local (this process) or "
                               "ray (a Ray Data pipeline: a local Ray runtime, or the cluster at --ray-address)."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", metavar="ADDR", help="Ray cluster to encode on "
                                              "(host:port, ray://host:10001 or auto); default: a local runtime."),
    ray_workers: Optional[int] = typer.Option(None, "--ray-workers", min=1, metavar="N", help="Encoder workers (default: "
                                              "one per CPU of the cluster, or per --ray-gpus)."),
    ray_gpus: float = typer.Option(0.0, "--ray-gpus", min=0.0, metavar="G", help="GPUs per Ray worker (default 0: CPU "
                                   "workers)."),
    store: Optional[str] = typer.Option(None, "--store", metavar="local|lance|lance:URI", help="Where vectors are "
                                        "searched: local (an hnswlib graph in the index folder) or lance (a LanceDB "
                                        "dataset in the index folder, or at URI: a folder or an object-store URI); "
                                        "default: what the index uses, else local."),
    check: bool = typer.Option(False, "--check", help="Only check the index (every row, the manifest, the "
                               "graph) and report; change nothing. A plain run repairs what it finds."),
    json_mode: bool = JsonOpt,
) -> None:
    """Embed a catalog into an index (incremental: only new or changed items are encoded), and export the
    encoder once for torch-free queries.

    Examples:
    fashrec index shop.jsonl
    fashrec index shop.jsonl --index shop.fashrec-index --model ViT-B-32:laion2b_s34b_b79k --rebuild
    fashrec index --check --index shop.fashrec-index
    fashrec index big.jsonl --engine ray --ray-workers 4
    fashrec index big.jsonl --store lance:/data/big.lance
    """

    with handled(json_mode):
        if check:
            check_index(index_dir or (index_dir_for(catalog) if catalog else default_index_dir()), json_mode)
            return
        if catalog is None:
            raise UsageError("give the catalog to index: fashrec index CATALOG.jsonl")
        export_onnx = check_runtime(runtime) != "torch"
        chosen = choose_engine(engine, address=ray_address, workers=ray_workers, gpus=ray_gpus)
        with ExitStack() as bars:
            report = build_index(
                catalog, index_dir, model=model, rebuild=rebuild, strict=strict, batch_size=batch_size,
                export_onnx=export_onnx, engine=chosen, store=store,
                progress=lambda desc, total: bars.enter_context(progress_bar(desc, total, enabled=not json_mode)),
            )

        def render() -> None:
            stdout.print(
                f"[bold]Indexed[/] {literal(report.catalog)} -> {literal(report.index)}\n"
                f"  added {report.added}, updated {report.updated}, metadata {report.metadata_updated}, "
                f"removed {report.removed}, unchanged {report.unchanged}; {report.total} items "
                f"({report.seconds:.1f}s, encoder {report.encoder})")
            for n in report.notes:
                note(f"[dim]{literal(n)}[/]")
        emit(report, json_mode=json_mode, render=render)
        if report.skipped and not json_mode:
            note(f"[yellow]Skipped {len(report.skipped)} bad line(s):[/]")
            for err in report.skipped[:20]:
                note(f"  {literal(err.message)}")
            if len(report.skipped) > 20:
                note(f"  ... and {len(report.skipped) - 20} more (see --json)")
            if report.kept_previous:
                note(f"  {report.kept_previous} of them kept their previously indexed version")


def check_index(folder: Path, json_mode: bool) -> None:
    """`fashrec index --check`: the audit's findings; exit 4 when there are any."""
    audit = audit_index(folder)
    data = audit.to_dict()

    def render() -> None:
        if audit.clean:
            stdout.print(f"[bold]{literal(folder)}[/]: ok, {data['items']} items checked", highlight=False)
            return
        stdout.print(f"[bold red]{literal(folder)}[/]: {len(audit.problems)} problem(s)", highlight=False)
        for problem in audit.problems:
            stdout.print(f"  {literal(problem)}", highlight=False)
        note(f"[dim]Hint: {literal(data['hint'])}[/]")
    emit(data, json_mode=json_mode, render=render)
    if not audit.clean:
        raise typer.Exit(FashrecIndexError.exit_code)


@app.command()
def info(index: Optional[Path] = IndexOpt, json_mode: bool = JsonOpt) -> None:
    """Describe an index: items, encoder, vocabulary (values with counts), prices, brands, sizes, stock.

    With --json a script gets every value of every attribute with its count, the price range and
    currency, the brands, the sizes and the stock counts: all it needs to phrase requests and filters.

    Examples:
    fashrec info
    fashrec info --index shop.fashrec-index --json
    """
    with handled(json_mode):
        idx = open_index_for(index)
        data = info_answer(idx)
        emit(data, json_mode=json_mode, render=lambda: render_info(data))
