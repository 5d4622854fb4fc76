"""Training layer: resumable training state in DIR/checkpoint.pt: model, optimizer, scheduler, position and every RNG.

With the RNG states and the step counter restored, a resumed run draws the same batches, captions and
augmentations as an uninterrupted one would have.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHECKPOINT_FILE = "checkpoint.pt"


@dataclass
class TrainState:
    step: int = 0
    losses: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0  # training time spent so far, across resumes


def save_checkpoint(path: Path, *, model: Any, optimizer: Any, scheduler: Any, state: TrainState,
                    caption_rng: random.Random, aug_gen: Any, config: dict[str, Any],
                    fingerprint: str) -> None:
    import numpy as np
    import torch

    payload = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),  # a pure function of (step, training time): config only
        "step": state.step,
        "losses": state.losses,
        "wall_seconds": state.wall_seconds,
        "rng": {
            "python": caption_rng.getstate(),
            "augment": aug_gen.get_state(),
            "torch": torch.get_rng_state(),
            "numpy": np.random.get_state(),
        },
        "config": config,
        "fingerprint": fingerprint,
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)  # a crash mid-write never leaves a half checkpoint


def load_checkpoint(path: Path) -> dict[str, Any]:
    import torch

    # The checkpoint holds RNG states (tuples, numpy arrays), so it is not weights-only; it is our own file.
    return torch.load(path, map_location="cpu", weights_only=False)


def restore_rngs(payload: dict[str, Any], caption_rng: random.Random, aug_gen: Any) -> None:
    import numpy as np
    import torch

    rng = payload["rng"]
    caption_rng.setstate(rng["python"])
    aug_gen.set_state(rng["augment"])
    torch.set_rng_state(rng["torch"])
    np.random.set_state(rng["numpy"])
