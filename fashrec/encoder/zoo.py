"""Encoder layer: the model configurations fashrec defines for open_clip (the fashrec-mini family).

Registering them with open_clip makes ``fashrec-mini`` a regular open_clip architecture name, so a
from-scratch training run and a loaded checkpoint both go through open_clip's own factory.
"""

from __future__ import annotations

import copy
import logging
from contextlib import contextmanager
from typing import Iterator

# ResNet-18 image tower at 64 px (the product photos are 60x80) and a small text transformer.
# The text width is kept at 128 because open_clip's 49,408-token vocabulary dominates the weights:
# with fp16 storage the whole model stays under 40 MB.
FASHREC_MINI = {
    "embed_dim": 256,
    "vision_cfg": {
        "timm_model_name": "resnet18",
        "timm_model_pretrained": False,
        "timm_pool": "avg",
        "timm_proj": "linear",
        "image_size": 64,
    },
    "text_cfg": {
        "context_length": 24,
        "vocab_size": 49408,
        "width": 128,
        "heads": 4,
        "layers": 3,
    },
}

# Inference preprocessing: keep the aspect ratio, pad with white (product shots are on white).
FASHREC_MINI_PREPROCESS = {
    "size": 64,
    "resize_mode": "longest",
    "fill_color": 255,
    "interpolation": "bicubic",
    "mean": [0.48145466, 0.4578275, 0.40821073],
    "std": [0.26862954, 0.26130258, 0.27577711],
}

EMBEDDED = {"fashrec-mini": FASHREC_MINI}


def register_embedded_configs() -> None:
    import open_clip
    from open_clip import factory

    for name, cfg in EMBEDDED.items():
        if name not in factory._MODEL_CONFIGS:  # open_clip has no public "add a dict" call
            factory._MODEL_CONFIGS[name] = copy.deepcopy(cfg)
    del open_clip


@contextmanager
def quiet_open_clip() -> Iterator[None]:
    """Hide open_clip's "no pretrained weights loaded" warning: a random init is what we asked for."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
