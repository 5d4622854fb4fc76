"""AMMR layer: the records the stages pass to each other, defined once.

anchor -> :class:`Anchor`; plan + relative wishes + anchor keeps -> :class:`Constraints` (built by
:mod:`fashrec.ammr.constraints`, only read by compose, retrieve, guard, critic and explain; a re-plan
builds a new one); retrieval -> :class:`Candidate`; the guard -> :class:`Check`; the loop -> :class:`Step`,
:class:`ResultItem` and :class:`RefineResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

import numpy as np

from fashrec.catalog import Product
from fashrec.planner import Plan

if TYPE_CHECKING:
    from fashrec.index import Index

Booster = Callable[[Product], dict[str, float]]


# --- stage 1: the anchor -------------------------------------------------------------------------

SHOPPER = "shopper"       # the source of an attribute the shopper corrected (certain: never asked again)


@dataclass
class AttributeGuess:
    value: str
    confidence: float
    source: str
    # The runners-up, most likely first, on the same scale as ``confidence``: what an unsure reading
    # offers the shopper to choose from (see :class:`Unsure`).
    alternatives: tuple[tuple[str, float], ...] = ()

    def to_dict(self) -> dict:
        return {"value": self.value, "confidence": round(self.confidence, 3), "source": self.source,
                "alternatives": [{"value": v, "confidence": round(c, 3)} for v, c in self.alternatives]}


@dataclass(frozen=True)
class Unsure:
    """An identity attribute of the anchor (category, gender, colour...) that the request left alone and
    that was read below the asking threshold: either too unsurely to keep (the results may differ in it)
    or kept on a guess worth confirming (``kept``). The shopper is told which, and offered the likeliest
    values to name."""

    attribute: str
    guess: AttributeGuess
    threshold: float          # the confidence below which refine asks
    kept: bool = False

    @property
    def options(self) -> list[tuple[str, float]]:
        return [(self.guess.value, self.guess.confidence), *self.guess.alternatives]

    @property
    def question(self) -> str:
        # Likeliest first: the blend may pick a value the vote backs less than a runner-up.
        offered = " or ".join(f"{v} ({c:.0%})" for v, c in sorted(self.options, key=lambda vc: -vc[1]))
        if self.kept:
            return (f"the photo's {self.attribute} is read as {offered} and kept as {self.guess.value} "
                    f"(name another to change it)")
        return (f"the photo's {self.attribute} is unsure: {offered}; it is not kept, so results may be any "
                f"{self.attribute} (name one to keep it)")

    def to_dict(self) -> dict:
        return {"attribute": self.attribute, "threshold": self.threshold, "kept": self.kept,
                "question": self.question,
                "options": [{"value": v, "confidence": round(c, 3)} for v, c in self.options]}


@dataclass
class Anchor:
    vector: np.ndarray
    attributes: dict[str, AttributeGuess] = field(default_factory=dict)
    image: str | None = None
    catalog_id: str | None = None
    price: float | None = None
    # For a photo from outside the catalog: the median price of its nearest look-alikes, so "cheaper"
    # still means something. Never shown as the anchor's price, always as an estimate.
    estimated_price: float | None = None

    def values(self, min_confidence: float = 0.0) -> dict[str, str]:
        return {a: g.value for a, g in self.attributes.items() if g.confidence >= min_confidence}

    def to_dict(self) -> dict:
        return {"image": self.image, "catalog_id": self.catalog_id, "price": self.price,
                "estimated_price": self.estimated_price,
                "attributes": {a: g.to_dict() for a, g in self.attributes.items()}}


# --- stages 2-3: what the results must satisfy ---------------------------------------------------

@dataclass
class Resolution:
    """What the relative wishes of one request mean for this anchor (see :mod:`fashrec.ammr.relative`)."""

    within: dict[str, list[str]] = field(default_factory=dict)   # attribute -> allowed values
    price_min: float | None = None
    price_max: float | None = None
    notes: list[str] = field(default_factory=list)               # one per wish: how it was read

    def is_empty(self) -> bool:
        return not self.within and self.price_min is None and self.price_max is None

    def to_dict(self) -> dict:
        return {"within": {a: list(v) for a, v in self.within.items()},
                "price": {"min": self.price_min, "max": self.price_max}, "notes": list(self.notes)}


@dataclass(frozen=True)
class Constraints:
    """Everything one search must honour: the plan, its relative wishes resolved against the anchor, and
    the anchor attributes kept (``hard``: filtered and verified; ``soft``: they only help ranking)."""

    plan: Plan
    relative: Resolution = field(default_factory=Resolution)
    hard: dict[str, str] = field(default_factory=dict)
    soft: dict[str, str] = field(default_factory=dict)

    @property
    def price_range(self) -> tuple[float | None, float | None]:
        """The plan's own price range, narrowed by "cheaper"/"pricier" than the anchor."""
        lo = [p for p in (self.plan.price_min, self.relative.price_min) if p is not None]
        hi = [p for p in (self.plan.price_max, self.relative.price_max) if p is not None]
        return (max(lo) if lo else None), (min(hi) if hi else None)

    def relaxed(self, attribute: str) -> "Constraints":
        """A copy that no longer requires the anchor's ``attribute`` (it still helps ranking)."""
        hard = {a: v for a, v in self.hard.items() if a != attribute}
        return Constraints(self.plan, self.relative, hard, {**self.soft, attribute: self.hard[attribute]})


# --- stages 4-6: candidates and their checks -----------------------------------------------------

@dataclass
class Check:
    kind: str          # "set", "within", "exclude", "price", "keep"
    attribute: str
    expected: str      # "linen", "not black", "<= 40"
    ok: bool
    evidence: str      # "catalog", "image p=0.71", "no price"
    hard: bool = True

    @property
    def label(self) -> str:
        if self.kind == "price":
            return f"price {self.expected}"
        if self.kind in ("exclude", "within"):
            return f"{self.attribute} {self.expected}"
        return f"{self.attribute}={self.expected}"

    def to_dict(self) -> dict:
        return {"constraint": self.label, "kind": self.kind, "ok": self.ok, "evidence": self.evidence,
                "hard": self.hard}


@dataclass
class Candidate:
    product: Product
    position: int
    similarity: float
    score: float = 0.0
    tier: int = 1  # 1 = passed with every anchor keep; higher = only after relaxing some
    checks: list[Check] = field(default_factory=list)
    boosts: dict[str, float] = field(default_factory=dict)


# --- stage 6: the critic's rules ----------------------------------------------------------------

@dataclass
class CriticConfig:
    """The stakeholder rules the critic applies (see :mod:`fashrec.ammr.critic`); each can be switched off."""

    in_stock_only: bool = True
    budget: float | None = None
    dedupe_similarity: float = 0.985
    brand_cap: int | None = 3
    mmr_lambda: float = 0.8
    sponsored_cap: float = 0.03
    diversity: bool = True

    def to_dict(self) -> dict:
        return dict(self.__dict__)


# --- the shopper's standing rules (implemented above this layer, by fashrec.profile) --------------

class Personalization(Protocol):
    """What a shopper's standing rules change for one request, as the loop applies them."""

    critic: CriticConfig
    exclude_ids: set[str]
    boost: Booster | None

    def notes_for(self, candidate: Candidate) -> list[str]:
        """The clauses the rules add to a result's reason ("profile: prefers linen (+0.04)")."""
        ...

    def to_dict(self) -> dict: ...


class StandingRules(Protocol):
    """Rules that hold for every request (a personal profile): turned into limits once a plan is known."""

    def is_empty(self) -> bool: ...

    def apply(self, index: "Index", anchor: Anchor, plan: Plan, critic: CriticConfig) -> Personalization: ...


# --- the answer ----------------------------------------------------------------------------------

@dataclass
class Step:
    number: int
    action: str
    detail: str = ""
    filter: dict = field(default_factory=dict)
    pool: int = 0
    allowed: int = 0
    retrieved: int = 0
    passed_guard: int = 0
    selected: int = 0
    dropped: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class ResultItem:
    candidate: Candidate
    why: str

    def to_dict(self) -> dict:
        c = self.candidate
        return {
            "id": c.product.id, "score": round(c.score, 4), "similarity": round(c.similarity, 4), "tier": c.tier,
            **c.product.summary(),
            "satisfied": [ch.label for ch in c.checks if ch.ok and ch.hard],
            "violated": [ch.label for ch in c.checks if not ch.ok and ch.hard],
            "checks": [ch.to_dict() for ch in c.checks],
            "why": self.why,
        }


@dataclass
class RefineResult:
    query: dict[str, Any]
    anchor: Anchor
    plan: Plan
    steps: list[Step]
    results: list[ResultItem]
    stop_reason: str
    timing_ms: dict[str, float]
    description: str = ""
    relative: Resolution | None = None
    profile: Personalization | None = None
    unsure: list[Unsure] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "anchor": self.anchor.to_dict(),
            "unsure": [u.to_dict() for u in self.unsure],
            "plan": self.plan.to_dict(),
            "relative": self.relative.to_dict() if self.relative else None,
            "target": self.description,
            "steps": [s.to_dict() for s in self.steps],
            "stop_reason": self.stop_reason,
            "results": [r.to_dict() for r in self.results],
            "timing_ms": {k: round(v, 2) for k, v in self.timing_ms.items()},
            "profile": self.profile.to_dict() if self.profile else None,
        }

    @property
    def ids(self) -> list[str]:
        return [r.candidate.product.id for r in self.results]
