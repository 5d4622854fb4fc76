"""Evaluation layer: measures shared by the benchmarks (exposure fairness, report rounding)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np


def rounded_fields(obj: Any, digits: int = 4) -> dict[str, Any]:
    """A report dataclass as a dict, floats rounded: JSON that reads like the tables."""
    return {k: (round(v, digits) if isinstance(v, float) else v) for k, v in obj.__dict__.items()}


def brand_exposure(results: list[list[str | None]]) -> dict:
    """Share of result slots per brand over many result lists, and the Gini coefficient of it."""
    counts = Counter(b or "(none)" for r in results for b in r)
    total = sum(counts.values())
    if not total:
        return {"shares": {}, "gini": 0.0, "brands": 0}
    shares = {b: n / total for b, n in counts.most_common()}
    x = np.sort(np.array(list(counts.values()), dtype=float))
    n = len(x)
    gini = float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * x.sum())) if n > 1 else 0.0
    return {"shares": {b: round(s, 4) for b, s in shares.items()}, "gini": round(gini, 4), "brands": n}
