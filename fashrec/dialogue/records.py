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
    """Where a turn's anchor came from -- an image file, or a catalog product (a picked result) -- and
    what the shopper corrected in what was read from it ("it's a dress": category=dresses). The
    corrections belong to this anchor: they hold for every later turn that searches from it (a resumed
    session too), and a new anchor (a pick, another photo) starts without them."""

    kind: str   # "image" or "product"
    value: str  # the image path, or the product id
    overrides: tuple[tuple[str, str], ...] = ()   # (attribute, value), sorted: hashable, one spelling

    def label(self) -> str:
        return self.value if self.kind == "image" else f"product {self.value}"

    def corrected(self, overrides: dict[str, str] | None) -> "AnchorRef":
        """The same anchor with ``overrides`` added to its corrections (a later one wins)."""
        if not overrides:
            return self
        return AnchorRef(self.kind, self.value, tuple(sorted({**dict(self.overrides), **overrides}.items())))

    @property
    def bare(self) -> "AnchorRef":
        """The anchor as read, before any correction."""
        return AnchorRef(self.kind, self.value)

    def to_dict(self) -> dict:
        data = {"kind": self.kind, "value": self.value}
        if self.overrides:
            data["overrides"] = dict(self.overrides)
        return data


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
