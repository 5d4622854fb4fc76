"""Training layer: `fashrec train` as a library call -- catalog in, open_clip model folder (plus checkpoint and
report) out. The optimisation itself is :mod:`fashrec.train.fit` (loaded with torch when a run starts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from fashrec.catalog import Product, load_catalog
from fashrec.catalog.split import is_evaluation_item
from fashrec.errors import CatalogError, UsageError
from fashrec.train.checkpoint import CHECKPOINT_FILE
from fashrec.train.export import WEIGHTS_FILE, write_training_info
from fashrec.train.progress import ProgressCallback, TrainProgress
from fashrec.train.recipe import TrainConfig

# validate(model folder, evaluation products, threads, progress) -> report: the held-out numbers of the
# exported model (the command line passes fashrec.evaluation.encoder.validate_model_dir).
Validator = Callable[[Path, Sequence[Product], int, Callable[[int], None]], dict[str, Any]]


@dataclass
class TrainResult:
    out_dir: Path
    steps: int
    total_steps: int
    epochs: float
    train_items: int
    holdout_items: int
    wall_seconds: float
    images_per_second: float
    first_loss: float | None
    last_loss: float | None
    model_bytes: int
    precision: str
    validation: dict[str, Any] | None = None
    recipe: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir), "steps": self.steps, "total_steps": self.total_steps,
            "epochs": self.epochs, "train_items": self.train_items, "holdout_items": self.holdout_items,
            "wall_seconds": round(self.wall_seconds, 1), "images_per_second": round(self.images_per_second, 1),
            "first_loss": self.first_loss, "last_loss": self.last_loss, "model_bytes": self.model_bytes,
            "precision": self.precision, "validation": self.validation, "recipe": self.recipe,
        }


def split_products(products: Sequence[Product]) -> tuple[list[Product], list[Product]]:
    """(training, evaluation) by :func:`is_evaluation_item` (held-out and validation slices)."""
    train = [p for p in products if not is_evaluation_item(p.id)]
    holdout = [p for p in products if is_evaluation_item(p.id)]
    return train, holdout


def train(config: TrainConfig, progress: ProgressCallback | None = None,
          validate: Validator | None = None) -> TrainResult:
    """Train (or fine-tune) on the non-held-out products of ``config.catalog`` and export the model.

    With ``validate`` (and ``config.validate``) the exported model is measured on the evaluation
    products and the numbers are written into its training.json.
    """
    report = progress or (lambda _event: None)
    out_dir, checkpoint_path = _check(config)
    train_products, holdout_products = split_products(load_catalog(config.catalog).products)
    if len(train_products) < 2:
        raise CatalogError(f"{config.catalog}: only {len(train_products)} trainable products "
                           "(at least 2 outside the held-out and validation slices are needed)")
    from fashrec.train.fit import Fit, mean  # deferred: imports torch

    fit = Fit.prepare(config, train_products, out_dir, checkpoint_path, report)
    fit.run(report)
    training = fit.export(len(holdout_products))
    validation = None
    if validate is not None and config.validate and holdout_products:
        done = [0]

        def on_image(k: int) -> None:
            done[0] += k
            report(TrainProgress("validate", done[0], len(holdout_products)))

        validation = validate(out_dir, holdout_products, fit.tuner.chosen, on_image)
        training["validation"] = validation
        write_training_info(out_dir, training)
    losses = fit.state.losses
    window = max(1, min(20, len(losses) // 5))
    return TrainResult(
        out_dir=out_dir, steps=fit.state.step, total_steps=fit.total_steps, epochs=training["epochs"],
        train_items=len(fit.train_set), holdout_items=len(holdout_products), wall_seconds=fit.state.wall_seconds,
        images_per_second=training["train_images_per_second"],
        first_loss=mean(losses[:window]), last_loss=mean(losses[-window:]),
        model_bytes=(out_dir / WEIGHTS_FILE).stat().st_size, precision=fit.precision,
        validation=validation, recipe=config.to_dict(),
    )


def _check(config: TrainConfig) -> tuple[Path, Path]:
    """(output folder, checkpoint path), refusing options that cannot work before anything is loaded."""
    if config.batch_size < 2:
        raise UsageError("batch size must be at least 2 (contrastive training compares items in a batch)")
    if config.epochs < 1:
        raise UsageError("epochs must be at least 1")
    out_dir = Path(config.out_dir).expanduser()
    checkpoint_path = out_dir / CHECKPOINT_FILE
    if checkpoint_path.exists() and not config.resume:
        raise UsageError(f"{out_dir} already holds a training checkpoint",
                         hint="pass --resume to continue it, or choose another --out folder")
    if config.resume and not checkpoint_path.exists():
        raise UsageError(f"nothing to resume: no {CHECKPOINT_FILE} in {out_dir}")
    return out_dir, checkpoint_path
