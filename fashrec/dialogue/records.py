"""Dialogue layer: what a conversation stores -- its turns, each with its anchor, plan and results."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from fashrec.planner import Plan
from fashrec.planner.merge import Change


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class AnchorRef:
    """Where a turn's anchor came from: an image file, or a catalog product (a picked result)."""

    kind: str   # "image" or "product"
    value: str  # the image path, or the product id

    def label(self) -> str:
        return self.value if self.kind == "image" else f"product {self.value}"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "value": self.value}


@dataclass
class Turn:
    number: int
    action: str
    text: str
    anchor: AnchorRef
    request: Plan                # what this turn's words meant
    plan: Plan                   # the accumulated plan this turn searched with
    changes: list[Change] = field(default_factory=list)
    result_ids: list[str] = field(default_factory=list)
    stop_reason: str = ""
    created_at: str = field(default_factory=now)
    result_titles: list[str] = field(default_factory=list)   # parallel to result_ids (empty in old records)

    def to_dict(self) -> dict:
        return {"turn": self.number, "action": self.action, "text": self.text, "anchor": self.anchor.to_dict(),
                "request": self.request.to_dict(), "plan": self.plan.to_dict(),
                "constraints": self.plan.describe(), "changes": [c.to_dict() for c in self.changes],
                "results": list(self.result_ids), "titles": list(self.result_titles),
                "stop_reason": self.stop_reason, "time": self.created_at}


@dataclass
class Session:
    name: str
    created_at: str
    updated_at: str
    index: str | None = None
    turns: list[Turn] = field(default_factory=list)

    @property
    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    @property
    def plan(self) -> Plan:
        """The accumulated plan so far (empty before the first turn)."""
        return self.last.plan if self.last else Plan()

    def summary(self) -> dict:
        last = self.last
        return {"name": self.name, "turns": len(self.turns), "created": self.created_at,
                "updated": self.updated_at, "index": self.index,
                "anchor": last.anchor.to_dict() if last else None,
                "last_text": last.text if last else None,
                "constraints": last.plan.describe() if last else []}

    def to_dict(self) -> dict:
        return {**self.summary(), "turns": [t.to_dict() for t in self.turns]}
