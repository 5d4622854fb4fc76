"""CLI layer: `fashrec train`, train or fine-tune an encoder on a catalog."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import typer

from fashrec.cli.app import app
from fashrec.cli.eval_cmd import render_validation
from fashrec.cli.output import emit, handled, stderr, stdout
from fashrec.evaluation.encoder import validate_model_dir
from fashrec.train import TrainConfig
from fashrec.train import train as run_training


@contextmanager
def _train_progress(enabled: bool) -> Iterator[Callable[[Any], None]]:
    """Live bar with loss and images/s on a terminal; a log line every ~10 s when stderr is a file."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    if not enabled:
        yield lambda event: None
        return
    if not stderr.is_terminal:
        last = [0.0]

        def log(event: Any) -> None:
            now = time.monotonic()
            if now - last[0] < 10 and event.done != event.total:
                return
            last[0] = now
            extra = f" epoch {event.epoch} loss {event.loss:.4f} {event.images_per_second or 0:.0f} img/s" \
                if event.phase == "train" else ""
            sys.stderr.write(f"[{event.phase}] {event.done}/{event.total}{extra}\n")
            sys.stderr.flush()

        yield log
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[info]}"), TimeRemainingColumn())
    with Progress(*columns, console=stderr.console, transient=True) as progress:
        tasks: dict[str, Any] = {}

        def update(event: Any) -> None:
            if event.phase not in tasks:
                labels = {"decode": "decoding images", "train": "training", "validate": "validating"}
                tasks[event.phase] = progress.add_task(labels.get(event.phase, event.phase),
                                                       total=event.total, info="")
            info = ""
            if event.phase == "train" and event.loss is not None:
                speed = f"{event.images_per_second:.0f} img/s" if event.images_per_second else "…"
                info = f"epoch {event.epoch}  loss {event.loss:.3f}  {speed}"
            progress.update(tasks[event.phase], completed=event.done, total=event.total, info=info)

        yield update


def _interrupt_on_termination() -> None:
    """SIGTERM (and SIGINT, which background jobs start with ignored) checkpoint before exiting."""
    import signal

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)


@app.command()
def train(
    catalog: Path = typer.Argument(..., help="Catalog (JSONL) to train on; its evaluation "
                              "items (held-out and validation slices, ~20 %) are never used."),
    out: Path = typer.Option(..., "--out", metavar="DIR",
                             help="Output folder: an open_clip model usable as --model DIR."),
    init: Optional[str] = typer.Option(None, "--init", metavar="SPEC",
                                       help="Fine-tune this model spec instead of training "
                                       "fashrec-mini from scratch."),
    epochs: int = typer.Option(14, "--epochs", metavar="N", help="Passes over the training items."),
    batch_size: int = typer.Option(256, "--batch-size", help="Items per step (contrastive batch)."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Peak learning rate (default: 1e-3 from scratch, "
                                       "1e-5 with --init)."),
    seed: int = typer.Option(0, "--seed", help="Seed for init, batch order, captions and augmentation."),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT/checkpoint.pt."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Pause after this many steps in total "
                                            "(the schedule still spans --epochs; --resume continues)."),
    minutes: Optional[float] = typer.Option(None, "--minutes", help="Training-time budget: the learning rate "
                                            "decays to zero and training stops when it is spent, even before "
                                            "--epochs (useful on a shared CPU)."),
    precision: str = typer.Option("auto", "--precision", metavar="auto|bf16|fp32",
                                 help="Number format of the weights while training."),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch (default: auto, "
                                          "re-measured while training)."),
    no_validate: bool = typer.Option(False, "--no-validate", help="Skip the held-out report at the end."),
    json_mode: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Train an encoder on a catalog (contrastive image<->text; resumable).

    Examples:
    fashrec train shop.jsonl --out runs/mine --epochs 3
    fashrec train shop.jsonl --out runs/mine --resume
    """
    with handled(json_mode):

        config = TrainConfig(catalog=catalog, out_dir=out, init=init, epochs=epochs, batch_size=batch_size,
                             lr=lr, seed=seed, resume=resume, max_steps=max_steps, minutes=minutes,
                             precision=precision,
                             threads=threads, validate=not no_validate)
        _interrupt_on_termination()
        with _train_progress(enabled=True) as progress:
            result = run_training(config, progress=progress, validate=validate_model_dir)
        data = result.to_dict()

        def render() -> None:
            stdout.print(f"model written to [bold]{result.out_dir}[/] ({result.model_bytes / 1e6:.1f} MB); "
                         f"{result.steps} steps, {result.epochs} epochs, {result.wall_seconds / 60:.1f} min, "
                         f"{result.images_per_second:.0f} img/s, loss {result.first_loss} -> {result.last_loss}")
            render_validation(result.validation)

        emit(data, json_mode=json_mode, render=render)


