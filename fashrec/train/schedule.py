"""Training layer: learning-rate schedule: linear warm-up, then cosine decay to zero over the run.

A run is bounded by steps (``--epochs``) and optionally by training time (``--minutes``). Progress is the
larger of the two fractions, so on a CPU shared with other work the schedule still completes its decay
when the time is up instead of stopping half-way at a high learning rate.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Schedule:
    warmup_steps: int
    total_steps: int
    time_budget_seconds: float | None = None

    def progress(self, step: int, elapsed: float) -> float:
        fraction = step / max(1, self.total_steps)
        if self.time_budget_seconds:
            fraction = max(fraction, elapsed / self.time_budget_seconds)
        return min(1.0, fraction)

    def factor(self, step: int, elapsed: float) -> float:
        """Multiplier of the peak learning rate for the coming step."""
        cosine = 0.5 * (1 + math.cos(math.pi * self.progress(step, elapsed)))
        warmup = min(1.0, (step + 1) / max(1, self.warmup_steps))
        return cosine * warmup

    def finished(self, step: int, elapsed: float) -> bool:
        return self.progress(step, elapsed) >= 1.0

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)


def apply(optimizer: Any, peak_lr: float, factor: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = peak_lr * factor
