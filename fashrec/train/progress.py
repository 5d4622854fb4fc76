"""Training layer: what a run reports while it goes (decoding, training, validating)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


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
