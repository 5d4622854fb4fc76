"""Training layer: what a training run does, as one dataclass: the fashrec-mini recipe is its defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCRATCH_MODEL = "fashrec-mini"

# How much each attribute-prompt loss counts next to the caption loss (1.0). Category and colour are
# what shoppers name first; season and pattern are noisy (pattern comes from title words only).
DEFAULT_ATTRIBUTE_WEIGHTS = {
    "category": 1.0, "color": 1.0, "gender": 0.5, "usage": 0.25, "season": 0.1, "pattern": 0.25,
}


@dataclass
class TrainConfig:
    catalog: Path
    out_dir: Path
    init: str | None = None  # None: fashrec-mini from scratch; else any fashrec model spec to fine-tune
    epochs: int = 14
    batch_size: int = 256
    lr: float | None = None  # None: 1e-3 from scratch, 1e-5 when fine-tuning
    weight_decay: float = 0.1
    warmup_steps: int = 200
    seed: int = 0
    max_steps: int | None = None  # pause after this many steps (the schedule still spans the run)
    minutes: float | None = None  # training-time budget; the schedule decays to zero when it is spent
    resume: bool = False
    precision: str = "auto"  # "auto" (bf16 where the CPU has it), "bf16" or "fp32"
    threads: int | None = None  # None: re-measure 1 vs all cores now and then (see threads.py)
    checkpoint_every: int = 200  # steps; a checkpoint is also written at the end of every epoch
    attribute_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_ATTRIBUTE_WEIGHTS))
    validate: bool = True
    use_image_cache: bool = True

    @property
    def learning_rate(self) -> float:
        if self.lr is not None:
            return self.lr
        return 1e-3 if self.init is None else 1e-5

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["catalog"] = str(self.catalog)
        d["out_dir"] = str(self.out_dir)
        d["learning_rate"] = self.learning_rate
        return d
