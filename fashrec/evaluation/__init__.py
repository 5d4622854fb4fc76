"""Evaluations: each measures one part of fashrec on a catalog and returns a report dataclass."""

from __future__ import annotations

from typing import Any


def rounded_fields(obj: Any, digits: int = 4) -> dict[str, Any]:
    """A report dataclass as a dict, floats rounded: JSON that reads like the tables."""
    return {k: (round(v, digits) if isinstance(v, float) else v) for k, v in obj.__dict__.items()}
