"""The training loop: catalog in, open_clip model folder (plus checkpoint and report) out."""

from __future__ import annotations

import hashlib
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from fashrec.catalog import Product, load_catalog
from fashrec.catalog.split import is_evaluation_item
from fashrec.errors import CatalogError, UsageError
from fashrec.train.captions import CaptionMaker, attribute_prompts, normalize_caption
from fashrec.train.checkpoint import (
    CHECKPOINT_FILE,
    TrainState,
    load_checkpoint,
    restore_rngs,
    save_checkpoint,
)
from fashrec.train.data import TrainingSet, build_training_set
from fashrec.train.export import WEIGHTS_FILE, write_model_dir, write_training_info
from fashrec.train.recipe import TrainConfig
from fashrec.train.schedule import Schedule
from fashrec.train.schedule import apply as set_lr
from fashrec.train.threads import tuner_for


@dataclass
class TrainProgress:
    """One progress report: ``phase`` is "decode", "train" or "validate"."""

    phase: str
    done: int
    total: int
    epoch: int = 0
    loss: float | None = None
    images_per_second: float | None = None


ProgressCallback = Callable[[TrainProgress], None]


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


def _pick_precision(requested: str) -> str:
    import torch

    if requested in ("bf16", "fp32"):
        return requested
    if requested != "auto":
        raise UsageError(f"precision must be auto, bf16 or fp32, not '{requested}'")
    try:  # bf16 autocast is only a speed-up where the CPU computes bf16 natively (AVX512-BF16/AMX)
        return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"
    except (AttributeError, RuntimeError):
        return "fp32"


def _fingerprint(train_set: TrainingSet, config: TrainConfig) -> str:
    """What must not change between a run and its resume (--max-steps and --minutes may)."""
    h = hashlib.sha256()
    for p in train_set.products:
        h.update(p.id.encode() + b"\n")
    h.update(f"{config.batch_size}|{config.seed}|{config.init}|{config.learning_rate}|{config.epochs}".encode())
    return h.hexdigest()[:16]


class _Tokens:
    """Tokenizer with a memo: prompts repeat every step and titles every epoch."""

    def __init__(self, tokenizer: Any, limit: int = 200_000) -> None:
        self.tokenizer = tokenizer
        self.memo: dict[str, Any] = {}
        self.limit = limit

    def __call__(self, texts: Sequence[str]):
        import torch

        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            if len(self.memo) + len(missing) > self.limit:
                self.memo.clear()
            for text, row in zip(missing, self.tokenizer(missing)):
                self.memo[text] = row
        return torch.stack([self.memo[t] for t in texts])


def _first_values(product: Product) -> dict[str, str]:
    return {k: v[0] for k, v in product.attributes.items() if v}


# validate(model folder, evaluation products, threads, progress) -> report: the held-out numbers of the
# exported model (the command line passes fashrec.evaluation.encoder.validate_model_dir).
Validator = Callable[[Path, Sequence[Product], int, Callable[[int], None]], dict[str, Any]]


def train(config: TrainConfig, progress: ProgressCallback | None = None,
          validate: Validator | None = None) -> TrainResult:
    """Train (or fine-tune) on the non-held-out products of ``config.catalog`` and export the model.

    With ``validate`` (and ``config.validate``) the exported model is measured on the evaluation
    products and the numbers are written into its training.json.
    """
    import numpy as np
    import torch
    import torch.nn.functional as F

    # deferred with torch: these modules import it at their top
    from fashrec.train.augment import augment, normalize
    from fashrec.train.losses import attribute_prompt_loss, multi_positive_clip_loss
    from fashrec.train.model import build_model, parameter_groups

    report = progress or (lambda _event: None)
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

    catalog = load_catalog(config.catalog)
    train_products, holdout_products = split_products(catalog.products)
    if len(train_products) < 2:
        raise CatalogError(f"{config.catalog}: only {len(train_products)} trainable products "
                           "(at least 2 outside the held-out and validation slices are needed)")

    tuner = tuner_for(config.threads, os.cpu_count() or 1)
    torch.set_num_threads(tuner.chosen)
    precision = _pick_precision(config.precision)
    seed = config.seed
    random.seed(seed)
    np.random.seed(seed)
    built = build_model(config.init, seed=seed)
    model = built.model
    model.train()
    model.visual.to(memory_format=torch.channels_last)

    decode_total = len(train_products)
    decoded = [0]

    def on_decode(n: int) -> None:
        decoded[0] += n
        report(TrainProgress("decode", decoded[0], decode_total))

    train_set = build_training_set(train_products, built.preprocess_cfg, progress=on_decode,
                                   use_cache=config.use_image_cache)
    n = len(train_set)
    if n < 2:
        raise CatalogError(f"{config.catalog}: fewer than 2 training images could be decoded")
    batch_size = min(config.batch_size, n)
    steps_per_epoch = max(1, n // batch_size)  # full batches only: the contrastive loss wants them
    # The schedule always spans --epochs; --max-steps only pauses early (resume continues the same run).
    total_steps = config.epochs * steps_per_epoch
    stop_at = total_steps if config.max_steps is None else min(total_steps, config.max_steps)

    optimizer = torch.optim.AdamW(parameter_groups(model, config.weight_decay), lr=config.learning_rate,
                                  betas=(0.9, 0.98), eps=1e-6)
    warmup = min(config.warmup_steps, max(1, total_steps // 10))
    budget = config.minutes * 60 if config.minutes else None
    scheduler = Schedule(warmup_steps=warmup, total_steps=total_steps, time_budget_seconds=budget)
    caption_rng = random.Random(seed)
    aug_gen = torch.Generator().manual_seed(seed)
    state = TrainState()
    fingerprint = _fingerprint(train_set, config)
    if config.resume:
        payload = load_checkpoint(checkpoint_path)
        if payload.get("fingerprint") != fingerprint:
            raise UsageError(f"the checkpoint in {out_dir} was made with another catalog, batch size, "
                             "seed, --epochs, --init or --lr", hint="resume with the same options, or use a new --out")
        model.load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
        state = TrainState(step=payload["step"], losses=list(payload["losses"]),
                           wall_seconds=payload["wall_seconds"])
        restore_rngs(payload, caption_rng, aug_gen)

    captions = CaptionMaker(caption_rng)
    tokens = _Tokens(built.tokenizer)
    weights = {a: w for a, w in config.attribute_weights.items() if w > 0 and a in train_set.attributes}
    mean, std = built.preprocess_cfg["mean"], built.preprocess_cfg["std"]
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")
    max_log_scale = math.log(100.0)

    def checkpoint() -> None:
        save_checkpoint(checkpoint_path, model=model, optimizer=optimizer, scheduler=scheduler, state=state,
                        caption_rng=caption_rng, aug_gen=aug_gen, config=config.to_dict(),
                        fingerprint=fingerprint)

    out_dir.mkdir(parents=True, exist_ok=True)
    order: torch.Tensor | None = None
    order_epoch = -1
    window_start, window_items = time.perf_counter(), 0
    images_per_second = 0.0
    session_start = time.perf_counter()
    wall_before = state.wall_seconds
    try:
        while state.step < stop_at and not scheduler.finished(state.step, state.wall_seconds):
            threads = tuner.before_step()
            if threads != torch.get_num_threads():
                torch.set_num_threads(threads)
            epoch, within = divmod(state.step, steps_per_epoch)
            if epoch != order_epoch:  # the batch order of an epoch depends only on (seed, epoch)
                order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
                order_epoch = epoch
            idx = order[within * batch_size:(within + 1) * batch_size].numpy()
            images = augment(torch.from_numpy(train_set.images[idx]), aug_gen)
            images = normalize(images, mean, std).contiguous(memory_format=torch.channels_last)

            batch = [train_set.products[i] for i in idx]
            texts = [captions.caption(p.title, _first_values(p)) for p in batch]
            keys: dict[str, int] = {}
            caption_ids = torch.tensor([keys.setdefault(normalize_caption(t), len(keys)) for t in texts])
            prompt_slices: dict[str, slice] = {}
            all_texts = list(texts)
            for attr in weights:
                prompts = attribute_prompts(attr, train_set.attributes[attr].values, caption_rng)
                prompt_slices[attr] = slice(len(all_texts), len(all_texts) + len(prompts))
                all_texts.extend(prompts)

            with autocast:
                image_features = model.encode_image(images)
                text_features = model.encode_text(tokens(all_texts))
            image_features = F.normalize(image_features.float(), dim=-1)
            text_features = F.normalize(text_features.float(), dim=-1)
            scale = model.logit_scale.exp().float()
            loss = multi_positive_clip_loss(image_features, text_features[:len(texts)], caption_ids, scale)
            for attr, weight in weights.items():
                labels = torch.from_numpy(train_set.attributes[attr].labels[idx])
                part = attribute_prompt_loss(image_features, text_features[prompt_slices[attr]], labels, scale)
                if part is not None:
                    loss = loss + weight * part

            set_lr(optimizer, config.learning_rate, scheduler.factor(state.step, state.wall_seconds))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, max_log_scale)

            tuner.after_step(threads)
            state.step += 1
            state.losses.append(round(float(loss.detach()), 5))
            state.wall_seconds = wall_before + time.perf_counter() - session_start
            window_items += len(idx)
            elapsed = time.perf_counter() - window_start
            if elapsed > 5 or state.step == stop_at:
                images_per_second = window_items / max(elapsed, 1e-9)
                window_start, window_items = time.perf_counter(), 0
            report(TrainProgress("train", state.step, stop_at, epoch=epoch + 1, loss=state.losses[-1],
                                 images_per_second=images_per_second or None))
            if state.step % config.checkpoint_every == 0 or state.step % steps_per_epoch == 0:
                checkpoint()
    except KeyboardInterrupt:
        checkpoint()  # so that --resume continues from here
        raise
    checkpoint()

    model.eval()
    training = {
        "model": built.source if config.init else "fashrec-mini",
        "init": built.source,
        "catalog": str(config.catalog),
        "train_items": n,
        "holdout_items": len(holdout_products),
        "steps": state.step,
        "steps_per_epoch": steps_per_epoch,
        "epochs": round(state.step / steps_per_epoch, 2),
        "batch_size": batch_size,
        "precision": precision,
        "threads": config.threads or "auto",
        "wall_seconds": round(state.wall_seconds, 1),
        "train_images_per_second": round(n * state.step / steps_per_epoch / max(state.wall_seconds, 1e-9), 1),
        "recipe": config.to_dict(),
        "attributes": {a: len(s.values) for a, s in train_set.attributes.items()},
        "loss_per_epoch": _epoch_means(state.losses, steps_per_epoch),
        "torch": torch.__version__,
    }
    write_model_dir(model, built.model_cfg, built.preprocess_cfg, out_dir, training)

    validation = None
    if validate is not None and config.validate and holdout_products:
        done = [0]

        def on_image(k: int) -> None:
            done[0] += k
            report(TrainProgress("validate", done[0], len(holdout_products)))

        validation = validate(out_dir, holdout_products, tuner.chosen, on_image)
        training["validation"] = validation
        write_training_info(out_dir, training)

    window = max(1, min(20, len(state.losses) // 5))
    return TrainResult(
        out_dir=out_dir, steps=state.step, total_steps=total_steps, epochs=training["epochs"],
        train_items=n, holdout_items=len(holdout_products), wall_seconds=state.wall_seconds,
        images_per_second=training["train_images_per_second"],
        first_loss=_mean(state.losses[:window]), last_loss=_mean(state.losses[-window:]),
        model_bytes=(out_dir / WEIGHTS_FILE).stat().st_size, precision=precision,
        validation=validation, recipe=config.to_dict(),
    )


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 5) if values else None


def _epoch_means(losses: Sequence[float], steps_per_epoch: int) -> list[float]:
    return [_mean(losses[i:i + steps_per_epoch]) for i in range(0, len(losses), steps_per_epoch)]
