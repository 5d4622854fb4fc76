"""Training layer: building the model to train: fashrec-mini from scratch, or any open_clip model to fine-tune."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from fashrec.encoder import resolve_spec, zoo
from fashrec.encoder.zoo import quiet_open_clip
from fashrec.errors import ModelError
from fashrec.train.recipe import SCRATCH_MODEL


@dataclass
class TrainableModel:
    model: Any  # open_clip CLIP module
    tokenizer: Any
    model_cfg: dict[str, Any]
    preprocess_cfg: dict[str, Any]
    source: str  # "fashrec-mini (random init)" or the spec fine-tuned from


def build_model(init: str | None, *, seed: int) -> TrainableModel:
    import open_clip
    import torch

    zoo.register_embedded_configs()
    torch.manual_seed(seed)  # the random init is part of the recipe's determinism
    if init is None:
        with quiet_open_clip():
            model = open_clip.create_model(SCRATCH_MODEL, pretrained=None)
        return TrainableModel(
            model=model,
            tokenizer=open_clip.get_tokenizer(SCRATCH_MODEL),
            model_cfg=copy.deepcopy(zoo.FASHREC_MINI),
            preprocess_cfg=copy.deepcopy(zoo.FASHREC_MINI_PREPROCESS),
            source=f"{SCRATCH_MODEL} (random init)",
        )
    spec = resolve_spec(init)
    try:
        model = open_clip.create_model(spec.open_clip_name, pretrained=spec.pretrained)
        model_cfg = open_clip.get_model_config(spec.open_clip_name)
        tokenizer = open_clip.get_tokenizer(spec.open_clip_name)
    except Exception as exc:  # open_clip raises many kinds; all mean "cannot start from this model"
        raise ModelError(f"cannot load '{init}' to fine-tune: {exc}") from exc
    if model_cfg is None:
        raise ModelError(f"open_clip has no config for '{init}', so the result could not be reloaded")
    return TrainableModel(
        model=model,
        tokenizer=tokenizer,
        model_cfg=copy.deepcopy(model_cfg),
        preprocess_cfg=dict(model.visual.preprocess_cfg),
        source=spec.raw,
    )


def parameter_groups(model: Any, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW groups: no weight decay on norms, biases and the logit scale (decaying them only hurts)."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if param.ndim < 2 or "logit_scale" in name or "bias" in name or ".bn" in name or "ln_" in name:
            no_decay.append(param)
        else:
            decay.append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
