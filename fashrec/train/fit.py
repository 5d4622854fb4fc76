"""Training layer: the optimisation itself -- model, data, schedule, the step loop, checkpoints, export.

Imports torch at its top: :func:`fashrec.train.loop.train` loads it only when a run starts.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from fashrec.catalog import Product
from fashrec.errors import CatalogError, UsageError
from fashrec.train.augment import augment, normalize
from fashrec.train.captions import CaptionMaker, attribute_prompts, normalize_caption
from fashrec.train.checkpoint import (
    TrainState,
    load_checkpoint,
    restore_rngs,
    save_checkpoint,
)
from fashrec.train.data import TrainingSet, build_training_set
from fashrec.train.export import write_model_dir
from fashrec.train.losses import attribute_prompt_loss, multi_positive_clip_loss
from fashrec.train.model import TrainableModel, build_model, parameter_groups
from fashrec.train.progress import ProgressCallback, TrainProgress
from fashrec.train.recipe import TrainConfig
from fashrec.train.schedule import Schedule
from fashrec.train.schedule import apply as set_lr
from fashrec.train.threads import ThreadTuner, tuner_for

MAX_LOG_SCALE = math.log(100.0)


def pick_precision(requested: str) -> str:
    if requested in ("bf16", "fp32"):
        return requested
    if requested != "auto":
        raise UsageError(f"precision must be auto, bf16 or fp32, not '{requested}'")
    try:  # bf16 autocast is only a speed-up where the CPU computes bf16 natively (AVX512-BF16/AMX)
        return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"
    except (AttributeError, RuntimeError):
        return "fp32"


def fingerprint(train_set: TrainingSet, config: TrainConfig) -> str:
    """What must not change between a run and its resume (--max-steps and --minutes may)."""
    h = hashlib.sha256()
    for p in train_set.products:
        h.update(p.id.encode() + b"\n")
    h.update(f"{config.batch_size}|{config.seed}|{config.init}|{config.learning_rate}|{config.epochs}".encode())
    return h.hexdigest()[:16]


class Tokens:
    """Tokenizer with a memo: prompts repeat every step and titles every epoch."""

    def __init__(self, tokenizer: Any, limit: int = 200_000) -> None:
        self.tokenizer = tokenizer
        self.memo: dict[str, Any] = {}
        self.limit = limit

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            if len(self.memo) + len(missing) > self.limit:
                self.memo.clear()
            for text, row in zip(missing, self.tokenizer(missing)):
                self.memo[text] = row
        return torch.stack([self.memo[t] for t in texts])


def first_values(product: Product) -> dict[str, str]:
    return {k: v[0] for k, v in product.attributes.items() if v}


@dataclass
class Fit:
    """One training run in progress: everything the step loop reads and advances."""

    config: TrainConfig
    out_dir: Path
    checkpoint_path: Path
    built: TrainableModel
    train_set: TrainingSet
    tuner: ThreadTuner
    precision: str
    batch_size: int
    steps_per_epoch: int
    total_steps: int
    stop_at: int
    optimizer: Any
    scheduler: Schedule
    caption_rng: random.Random
    aug_gen: torch.Generator
    fingerprint: str
    state: TrainState = field(default_factory=TrainState)
    _order: Any = None          # the batch order of the current epoch
    _order_epoch: int = -1

    @classmethod
    def prepare(cls, config: TrainConfig, products: list[Product], out_dir: Path, checkpoint_path: Path,
                report: ProgressCallback) -> "Fit":
        """Model, decoded images, optimiser and schedule; resumed from the checkpoint with ``config.resume``."""
        tuner = tuner_for(config.threads, os.cpu_count() or 1)
        torch.set_num_threads(tuner.chosen)
        precision = pick_precision(config.precision)
        random.seed(config.seed)
        np.random.seed(config.seed)
        built = build_model(config.init, seed=config.seed)
        built.model.train()
        built.model.visual.to(memory_format=torch.channels_last)
        train_set = _decode(products, built, config, report)
        n = len(train_set)
        batch_size = min(config.batch_size, n)
        steps_per_epoch = max(1, n // batch_size)  # full batches only: the contrastive loss wants them
        # The schedule always spans --epochs; --max-steps only pauses early (resume continues the same run).
        total_steps = config.epochs * steps_per_epoch
        stop_at = total_steps if config.max_steps is None else min(total_steps, config.max_steps)
        optimizer = torch.optim.AdamW(parameter_groups(built.model, config.weight_decay), lr=config.learning_rate,
                                      betas=(0.9, 0.98), eps=1e-6)
        warmup = min(config.warmup_steps, max(1, total_steps // 10))
        scheduler = Schedule(warmup_steps=warmup, total_steps=total_steps,
                             time_budget_seconds=config.minutes * 60 if config.minutes else None)
        fit = cls(config, out_dir, checkpoint_path, built, train_set, tuner, precision, batch_size, steps_per_epoch,
                  total_steps, stop_at, optimizer, scheduler, random.Random(config.seed),
                  torch.Generator().manual_seed(config.seed), fingerprint(train_set, config))
        if config.resume:
            fit._resume()
        return fit

    def _resume(self) -> None:
        payload = load_checkpoint(self.checkpoint_path)
        if payload.get("fingerprint") != self.fingerprint:
            raise UsageError(f"the checkpoint in {self.out_dir} was made with another catalog, batch size, "
                             "seed, --epochs, --init or --lr", hint="resume with the same options, or use a new --out")
        self.built.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.state = TrainState(step=payload["step"], losses=list(payload["losses"]),
                                wall_seconds=payload["wall_seconds"])
        restore_rngs(payload, self.caption_rng, self.aug_gen)

    def checkpoint(self) -> None:
        save_checkpoint(self.checkpoint_path, model=self.built.model, optimizer=self.optimizer,
                        scheduler=self.scheduler, state=self.state, caption_rng=self.caption_rng,
                        aug_gen=self.aug_gen, config=self.config.to_dict(), fingerprint=self.fingerprint)

    def run(self, report: ProgressCallback) -> None:
        """Steps until --epochs, --max-steps or --minutes is reached; a checkpoint every so often and on
        an interrupt (so --resume continues from there)."""
        config, state = self.config, self.state
        captions, tokens = CaptionMaker(self.caption_rng), Tokens(self.built.tokenizer)
        weights = {a: w for a, w in config.attribute_weights.items() if w > 0 and a in self.train_set.attributes}
        self.out_dir.mkdir(parents=True, exist_ok=True)
        meter = _Speed()
        session_start, wall_before = time.perf_counter(), state.wall_seconds
        try:
            while state.step < self.stop_at and not self.scheduler.finished(state.step, state.wall_seconds):
                threads = self.tuner.before_step()
                if threads != torch.get_num_threads():
                    torch.set_num_threads(threads)
                epoch, idx = self._batch()
                loss = self._loss(idx, captions, tokens, weights)
                self._update(loss)
                self.tuner.after_step(threads)
                state.step += 1
                state.losses.append(round(float(loss.detach()), 5))
                state.wall_seconds = wall_before + time.perf_counter() - session_start
                speed = meter.add(len(idx), final=state.step == self.stop_at)
                report(TrainProgress("train", state.step, self.stop_at, epoch=epoch + 1, loss=state.losses[-1],
                                     images_per_second=speed or None))
                if state.step % config.checkpoint_every == 0 or state.step % self.steps_per_epoch == 0:
                    self.checkpoint()
        except KeyboardInterrupt:
            self.checkpoint()  # so that --resume continues from here
            raise
        self.checkpoint()

    def _batch(self) -> tuple[int, np.ndarray]:
        """(epoch, item indices) of the next step; the batch order of an epoch depends only on (seed, epoch)."""
        epoch, within = divmod(self.state.step, self.steps_per_epoch)
        if self._order_epoch != epoch:
            self._order = torch.randperm(len(self.train_set),
                                         generator=torch.Generator().manual_seed(self.config.seed * 100_003 + epoch))
            self._order_epoch = epoch
        return epoch, self._order[within * self.batch_size:(within + 1) * self.batch_size].numpy()

    def _loss(self, idx: np.ndarray, captions: CaptionMaker, tokens: Tokens, weights: dict[str, float]) -> torch.Tensor:
        """Multi-positive caption loss plus the weighted attribute-prompt losses of one batch."""
        model, train_set = self.built.model, self.train_set
        mean, std = self.built.preprocess_cfg["mean"], self.built.preprocess_cfg["std"]
        images = augment(torch.from_numpy(train_set.images[idx]), self.aug_gen)
        images = normalize(images, mean, std).contiguous(memory_format=torch.channels_last)
        texts = [captions.caption(p.title, first_values(p)) for p in (train_set.products[i] for i in idx)]
        keys: dict[str, int] = {}
        caption_ids = torch.tensor([keys.setdefault(normalize_caption(t), len(keys)) for t in texts])
        prompt_slices: dict[str, slice] = {}
        all_texts = list(texts)
        for attr in weights:
            prompts = attribute_prompts(attr, train_set.attributes[attr].values, self.caption_rng)
            prompt_slices[attr] = slice(len(all_texts), len(all_texts) + len(prompts))
            all_texts.extend(prompts)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bf16"):
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
        return loss

    def _update(self, loss: torch.Tensor) -> None:
        model, optimizer = self.built.model, self.optimizer
        set_lr(optimizer, self.config.learning_rate, self.scheduler.factor(self.state.step, self.state.wall_seconds))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, MAX_LOG_SCALE)

    def export(self, holdout_items: int) -> dict[str, Any]:
        """Write the model folder; returns its training record (training.json)."""
        self.built.model.eval()
        state, n, config = self.state, len(self.train_set), self.config
        training = {
            "model": self.built.source if config.init else "fashrec-mini",
            "init": self.built.source,
            "catalog": str(config.catalog),
            "train_items": n,
            "holdout_items": holdout_items,
            "steps": state.step,
            "steps_per_epoch": self.steps_per_epoch,
            "epochs": round(state.step / self.steps_per_epoch, 2),
            "batch_size": self.batch_size,
            "precision": self.precision,
            "threads": config.threads or "auto",
            "wall_seconds": round(state.wall_seconds, 1),
            "train_images_per_second": round(n * state.step / self.steps_per_epoch / max(state.wall_seconds, 1e-9), 1),
            "recipe": config.to_dict(),
            "attributes": {a: len(s.values) for a, s in self.train_set.attributes.items()},
            "loss_per_epoch": epoch_means(state.losses, self.steps_per_epoch),
            "torch": torch.__version__,
        }
        write_model_dir(self.built.model, self.built.model_cfg, self.built.preprocess_cfg, self.out_dir, training)
        return training


def _decode(products: list[Product], built: TrainableModel, config: TrainConfig,
            report: ProgressCallback) -> TrainingSet:
    decoded = [0]

    def on_decode(k: int) -> None:
        decoded[0] += k
        report(TrainProgress("decode", decoded[0], len(products)))

    train_set = build_training_set(products, built.preprocess_cfg, progress=on_decode,
                                   use_cache=config.use_image_cache)
    if len(train_set) < 2:
        raise CatalogError(f"{config.catalog}: fewer than 2 training images could be decoded")
    return train_set


class _Speed:
    """Images per second over windows of about five seconds."""

    def __init__(self) -> None:
        self.start, self.items, self.value = time.perf_counter(), 0, 0.0

    def add(self, items: int, *, final: bool) -> float:
        self.items += items
        elapsed = time.perf_counter() - self.start
        if elapsed > 5 or final:
            self.value = self.items / max(elapsed, 1e-9)
            self.start, self.items = time.perf_counter(), 0
        return self.value


def mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 5) if values else None


def epoch_means(losses: Sequence[float], steps_per_epoch: int) -> list[float]:
    return [mean(losses[i:i + steps_per_epoch]) for i in range(0, len(losses), steps_per_epoch)]
