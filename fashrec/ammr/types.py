"""AMMR layer: the records the stages pass to each other, defined once.

anchor -> :class:`Anchor`; plan + relative wishes + anchor keeps -> :class:`Constraints` (built by
:mod:`fashrec.ammr.constraints`, only read by compose, retrieve, guard, critic and explain; a re-plan
builds a new one); retrieval -> :class:`Candidate`; the guard -> :class:`Check`; a short answer ->
:class:`Relaxation`, :class:`Option` and :class:`Shortfall` (:mod:`fashrec.ammr.shortfall`); the loop ->
:class:`Step`, :class:`ResultItem` and :class:`RefineResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

import numpy as np

from fashrec.catalog import Product
from fashrec.catalog.roles import is_identity
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
    # When the shopper corrected it ("you said"): what had been read from the photo.
    guessed: "AttributeGuess | None" = None

    def to_dict(self) -> dict:
        data = {"value": self.value, "confidence": round(self.confidence, 3), "source": self.source,
                "alternatives": [{"value": v, "confidence": round(c, 3)} for v, c in self.alternatives]}
        if self.guessed is not None:
            data["guessed"] = self.guessed.to_dict()
        return data


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
    either: tuple[str, ...] = ()   # kept as one of two readings ("men or women"), see Constraints.either

    @property
    def options(self) -> list[tuple[str, float]]:
        return [(self.guess.value, self.guess.confidence), *self.guess.alternatives]

    @property
    def question(self) -> str:
        # Likeliest first: the blend may pick a value the vote backs less than a runner-up.
        offered = " or ".join(f"{v} ({c:.0%})" for v, c in sorted(self.options, key=lambda vc: -vc[1]))
        if self.kept:
            kept = " or ".join(self.either) or self.guess.value
            return (f"the photo's {self.attribute} is read as {offered} and kept as {kept} "
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
    # For a photo from outside the catalog: the median price of its nearest look-alikes of the same
    # kind, so "cheaper" still means something. Never shown as the anchor's price, always as an
    # estimate, with its basis ("median of the 15 nearest shirts for men with a price, 27-46 EUR").
    estimated_price: float | None = None
    price_basis: str | None = None

    def values(self, min_confidence: float = 0.0) -> dict[str, str]:
        return {a: g.value for a, g in self.attributes.items() if g.confidence >= min_confidence}

    def to_dict(self) -> dict:
        return {"image": self.image, "catalog_id": self.catalog_id, "price": self.price,
                "estimated_price": self.estimated_price, "estimated_price_basis": self.price_basis,
                "attributes": {a: g.to_dict() for a, g in self.attributes.items()}}


@dataclass
class Assumption:
    """How one attribute read from the anchor was used by an answer, so the shopper can correct it."""

    attribute: str
    value: str
    confidence: float
    source: str
    use: str          # "required", "either", "preferred", "relaxed", "changed", "released", "unused"
    reason: str       # in words: "read at 57 %: unsure, so it only steers ranking"

    def to_dict(self) -> dict:
        return {"attribute": self.attribute, "value": self.value, "confidence": round(self.confidence, 3),
                "source": self.source, "use": self.use, "reason": self.reason}


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
    the anchor attributes kept (``hard``: filtered and verified; ``soft``: they only help ranking).

    ``either``: identity attributes read between two values ("shirts or kurtas", the likeliest first,
    see :func:`fashrec.ammr.constraints.identity_readings`). Every result has one of them. While the
    attribute is also in ``hard`` only the likeliest is searched; once the loop widens it
    (:meth:`widened`), products with the other reading join the results, ranked after the first."""

    plan: Plan
    relative: Resolution = field(default_factory=Resolution)
    hard: dict[str, str] = field(default_factory=dict)
    soft: dict[str, str] = field(default_factory=dict)
    either: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def price_range(self) -> tuple[float | None, float | None]:
        """The plan's own price range, narrowed by "cheaper"/"pricier" than the anchor."""
        lo = [p for p in (self.plan.price_min, self.relative.price_min) if p is not None]
        hi = [p for p in (self.plan.price_max, self.relative.price_max) if p is not None]
        return (max(lo) if lo else None), (min(hi) if hi else None)

    def relaxed(self, *attributes: str) -> "Constraints":
        """A copy that no longer requires the anchor's ``attributes`` (they still help ranking)."""
        hard = {a: v for a, v in self.hard.items() if a not in attributes}
        moved = {a: v for a, v in self.hard.items() if a in attributes}
        either = {a: v for a, v in self.either.items() if a not in attributes}
        return Constraints(self.plan, self.relative, hard, {**self.soft, **moved}, either)

    def widened(self, *attributes: str) -> "Constraints":
        """A copy that accepts any of the readings of the ``either`` ``attributes``, not only the likeliest."""
        hard = {a: v for a, v in self.hard.items() if a not in attributes or a not in self.either}
        return Constraints(self.plan, self.relative, hard, dict(self.soft), dict(self.either))

    def narrowable(self) -> list[str]:
        """The ``either`` attributes still searched at their likeliest reading only."""
        return [a for a in self.either if a in self.hard]

    def wanted(self) -> dict[str, set[str]]:
        """The values every result must have, per attribute: kept, set, read either way, or a wish."""
        wanted = {a: {v} for a, v in {**self.hard, **self.plan.set}.items()}
        wanted.update({a: set(v) for a, v in self.either.items() if a not in wanted})
        wanted.update({a: set(v) for a, v in self.relative.within.items()})
        return wanted

    def look_keeps(self) -> list[str]:
        """Kept anchor attributes that describe its look (colour, material, pattern) and that the shopper
        did not ask to keep: the only constraints a result may lack, and then it says so."""
        return [a for a in self.hard if a not in self.plan.keep and not is_identity(a)]


# --- stages 4-6: candidates and their checks -----------------------------------------------------

@dataclass
class Check:
    kind: str          # "set", "within", "exclude", "price", "keep", "either" (one of two readings)
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
    # Why the critic held it back for a page with room ("near-duplicate", "brand cap (deferred)"): a page
    # that takes it back un-counts that reason. Not a score bonus, so not among the boosts.
    held_back: str | None = None


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
    # Only for an alternative (a near miss): the constraints it lacks, what it has instead, and the
    # number of the shortfall option it illustrates.
    lacks: list[str] | None = None
    instead: dict[str, str] = field(default_factory=dict)
    option: int | None = None
    # The anchor's look attributes ("color=white") the loop gave up to fill the answer that this
    # product does not have (never its identity, never anything stated).
    not_kept: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        c = self.candidate
        data = {
            "id": c.product.id, "score": round(c.score, 4), "similarity": round(c.similarity, 4), "tier": c.tier,
            **c.product.summary(),
            "satisfied": [ch.label for ch in c.checks if ch.ok and ch.hard],
            "violated": [ch.label for ch in c.checks if not ch.ok and ch.hard],
            "checks": [ch.to_dict() for ch in c.checks],
            "why": self.why,
            "not_kept": list(self.not_kept),
        }
        if self.lacks is not None:
            data.update({"lacks": list(self.lacks), "instead": dict(self.instead), "option": self.option})
        return data


# --- a short answer: what it lacks and what giving something up would yield ---------------------

@dataclass(frozen=True)
class Relaxation:
    """One constraint a short answer could give up: a kept anchor attribute or something stated."""

    kind: str         # "identity" / "look": anchor keeps; "stated": what the request (or a pick) said
    check: str        # the guard check it removes: "keep", "set", "within", "exclude", "price"
    attribute: str    # the attribute it frees ("price" for a price range)
    constraint: str   # the check's label: "category=shirt", "season=winter", "price <= 40"
    label: str        # how a person names it: "shirt", "for men", "winter", "not black"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "check": self.check, "attribute": self.attribute, "constraint": self.constraint,
                "label": self.label}


@dataclass
class Option:
    """What giving up some constraints would yield, counted over the catalog's metadata."""

    relax: tuple[Relaxation, ...]
    count: int
    exact: bool               # False: a constraint is only checked on images, so ``count`` is an upper bound
    top: dict[str, int]       # the commonest values of the freed attribute among those products
    message: str              # "13 winter items for men if you drop shirt"
    number: int = 0           # 1-based, as offered to the shopper (a chat choice)
    shown: int = 0            # how many of them are in ``alternatives``
    # Products it finds beyond what the constraints kept already let through: 0 when giving it up lets
    # in nothing new ("the same 4 linen shirts"). When it frees a constraint checked only on the image,
    # no metadata tells which products that adds, so this is ``count`` (an upper bound, as ``exact`` says).
    adds: int = 0
    same_as: int | None = None   # the number of an earlier way forward that lets in exactly the same products

    @property
    def useful(self) -> bool:
        """Whether taking it could show the shopper something new: it adds products, and no earlier way
        forward adds the same ones."""
        return self.adds > 0 and self.same_as is None

    def to_dict(self) -> dict:
        return {"number": self.number, "drop": [r.constraint for r in self.relax],
                "relax": [r.to_dict() for r in self.relax], "count": self.count, "exact": self.exact,
                "adds": self.adds, "same_as": self.same_as, "useful": self.useful,
                "top": dict(self.top), "message": self.message, "shown": self.shown}


@dataclass
class Shortfall:
    """Fewer exact matches than asked for: said plainly, with what each relaxation would yield."""

    found: int
    wanted: int
    message: str              # "only 4 linen shirts for men"
    options: list[Option] = field(default_factory=list)
    alternatives: bool = True  # False: --strict, near misses were not looked for
    required: list[str] = field(default_factory=list)   # what the exact matches have, as check labels

    def to_dict(self) -> dict:
        return {"found": self.found, "wanted": self.wanted, "message": self.message, "required": list(self.required),
                "options": [o.to_dict() for o in self.options], "alternatives": self.alternatives}


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
    # Fewer than k exact matches: the shortfall, and near misses kept apart from ``results``.
    shortfall: Shortfall | None = None
    alternatives: list[ResultItem] = field(default_factory=list)
    assumptions: list[Assumption] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "anchor": self.anchor.to_dict(),
            "unsure": [u.to_dict() for u in self.unsure],
            "assumptions": [a.to_dict() for a in self.assumptions],
            "plan": self.plan.to_dict(),
            "relative": self.relative.to_dict() if self.relative else None,
            "target": self.description,
            "steps": [s.to_dict() for s in self.steps],
            "stop_reason": self.stop_reason,
            "results": [r.to_dict() for r in self.results],
            "shortfall": self.shortfall.to_dict() if self.shortfall else None,
            "alternatives": [r.to_dict() for r in self.alternatives],
            "timing_ms": {k: round(v, 2) for k, v in self.timing_ms.items()},
            "profile": self.profile.to_dict() if self.profile else None,
        }

    @property
    def ids(self) -> list[str]:
        return [r.candidate.product.id for r in self.results]
