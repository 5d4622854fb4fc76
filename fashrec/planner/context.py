"""Planner layer: what a planner knows besides the request text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from fashrec.catalog import Vocabulary, normalize_key, normalize_value
from fashrec.planner.plan import Plan


@dataclass
class PlanContext:
    """The catalog's vocabulary plus the conversation so far.

    - ``anchor``: attributes inferred for the anchor image (attribute -> value), possibly empty.
      "A different colour" excludes the anchor's colour; "same shoes" keeps its exact category.
    - ``previous``: the plan accumulated over earlier turns, or None. It is context, not a default:
      planners return what *this* request asks for and the caller merges turns.
    - ``currency``: the catalog's currency code, if known (budgets in another currency are noted).
    """

    vocabulary: Vocabulary
    anchor: dict[str, str] = field(default_factory=dict)
    previous: Plan | None = None
    currency: str | None = None

    def __post_init__(self) -> None:
        self.anchor = {normalize_key(k): normalize_value(v) for k, v in (self.anchor or {}).items()
                       if isinstance(v, str) and v.strip()}

    def reference_value(self, attribute: str) -> str | None:
        """The value "a different <attribute>" moves away from: last turn's wish, else the anchor's."""
        if self.previous is not None and attribute in self.previous.set:
            return self.previous.set[attribute]
        return self.anchor.get(attribute)


@runtime_checkable
class Planner(Protocol):
    """Request text -> validated :class:`Plan`. Never raises for bad model output; notes fallbacks."""

    name: str

    def plan(self, text: str, context: PlanContext) -> Plan: ...
