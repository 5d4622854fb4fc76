"""Training layer: writing a trained model as an open_clip "local-dir" folder that open_clip loads by its normal path.

Weights are stored in fp16 (open_clip casts them back to fp32 on load): half the size, with no
measurable change in retrieval for a model trained in bf16 anyway.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

CONFIG_FILE = "open_clip_config.json"
WEIGHTS_FILE = "open_clip_model.safetensors"
TRAINING_FILE = "training.json"


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_model_dir(model: Any, model_cfg: dict[str, Any], preprocess_cfg: dict[str, Any],
                    out_dir: Path, training: dict[str, Any] | None = None) -> Path:
    import torch
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    state = {
        name: (t.detach().to(torch.float16) if t.is_floating_point() else t.detach()).contiguous().clone()
        for name, t in model.state_dict().items()
    }
    tmp = out_dir / (WEIGHTS_FILE + ".tmp")
    save_file(state, str(tmp), metadata={"format": "pt"})
    os.replace(tmp, out_dir / WEIGHTS_FILE)
    config = {"model_cfg": model_cfg, "preprocess_cfg": preprocess_cfg}
    _atomic_write_text(out_dir / CONFIG_FILE, json.dumps(config, indent=2) + "\n")
    if training is not None:
        write_training_info(out_dir, training)
    return out_dir


def write_training_info(out_dir: Path, training: dict[str, Any]) -> None:
    _atomic_write_text(out_dir / TRAINING_FILE, json.dumps(training, indent=2, ensure_ascii=False) + "\n")
