"""The AMMR agent loop: anchor + request -> plan -> compose -> retrieve -> guard -> critic -> answer.

When fewer than k products survive, the loop re-plans, one bounded step at a time: widen the search,
relax the least important attribute kept from the anchor, or try another reading of the request.
It never relaxes what the shopper stated; it stops and says why instead. Single-shot baselines
(`image`, `text`, `fusion`) are kept for comparison and share every stage after retrieval.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from fashrec.ammr.anchor import Anchor, understand_anchor
from fashrec.ammr.compose import compose, fuse, target_attributes
from fashrec.ammr.critic import CriticConfig, select
from fashrec.ammr.explain import explain
from fashrec.ammr.guard import check_product, passes
from fashrec.ammr.relative import Resolution, resolve_relative
from fashrec.ammr.retrieve import Candidate, plan_filter, retrieve
from fashrec.catalog import Product
from fashrec.catalog.roles import KEEP_ORDER, keep_rank, role_of
from fashrec.encoder import Encoder
from fashrec.encoder.prompts import AttributePrompts
from fashrec.errors import UsageError
from fashrec.index import Index, ann
from fashrec.planner import Plan
from fashrec.search import blended_text_search

STRATEGIES = ("ammr", "image", "text", "fusion")
KEEP_CONFIDENCE = 0.5       # anchor attributes inferred at least this confidently are kept
SOFT_KEEP_WEIGHT = 0.08     # ranking bonus for matching the anchor's other attributes
RELATIVE_PRICE_WEIGHT = 0.05


@dataclass
class RefineOptions:
    k: int = 10
    strategy: str = "ammr"
    max_steps: int = 5
    keep_confidence: float = KEEP_CONFIDENCE
    critic: CriticConfig = field(default_factory=CriticConfig)
    # Named score bonuses per product (the personal profile's preferences); recorded in Candidate.boosts.
    boost: Callable[[Product], dict[str, float]] | None = None


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
        p = c.product
        return {
            "id": p.id, "score": round(c.score, 4), "similarity": round(c.similarity, 4), "tier": c.tier,
            "title": p.title,
            "image": str(p.image_path),
            "attributes": {k: (v[0] if len(v) == 1 else v) for k, v in p.attributes.items()},
            "brand": p.brand, "price": p.price, "currency": p.currency, "in_stock": p.in_stock,
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

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "anchor": self.anchor.to_dict(),
            "plan": self.plan.to_dict(),
            "relative": self.relative.to_dict() if self.relative else None,
            "target": self.description,
            "steps": [s.to_dict() for s in self.steps],
            "stop_reason": self.stop_reason,
            "results": [r.to_dict() for r in self.results],
            "timing_ms": {k: round(v, 2) for k, v in self.timing_ms.items()},
        }

    @property
    def ids(self) -> list[str]:
        return [r.candidate.product.id for r in self.results]


class Refiner:
    """Holds the loaded index, encoder, planner and prompt cache; answers many requests."""

    def __init__(self, index: Index, encoder: Encoder, planner=None, *, fallback_planner=None) -> None:
        self.index = index
        self.encoder = encoder
        self.planner = planner
        self.fallback_planner = fallback_planner
        self.prompts = AttributePrompts(index, encoder)

    # -- stages -----------------------------------------------------------------------------------
    def anchor_from_image(self, image: str | Path) -> Anchor:
        vector = self.encoder.encode_images([Path(image)])[0]
        return understand_anchor(self.index, vector, self.prompts, image=image)

    def plan(self, text: str, anchor: Anchor, previous: Plan | None = None, planner=None) -> Plan:
        from fashrec.planner import PlanContext

        planner = planner or self.planner
        if planner is None:
            raise UsageError("no planner configured")
        context = PlanContext(vocabulary=self.index.vocabulary, anchor=anchor.values(KEEP_CONFIDENCE),
                              previous=previous, currency=self.index.currency)
        return planner.plan(text or "", context)

    def keeps(self, anchor: Anchor, plan: Plan, min_confidence: float,
              relative: Resolution | None = None) -> tuple[dict[str, str], dict[str, str]]:
        """(hard keeps, soft keeps): anchor attributes the request did not touch."""
        touched = set(plan.set) | set(plan.exclude) | set(plan.drop) | set(relative.within if relative else ())
        hard, soft = {}, {}
        for attr, guess in anchor.attributes.items():
            if attr in touched or guess.confidence < min_confidence:
                continue
            if role_of(attr) in KEEP_ORDER or attr in plan.keep:
                hard[attr] = guess.value
            else:
                soft[attr] = guess.value
        return hard, soft

    def _score(self, c: Candidate, query: np.ndarray, soft: dict[str, str], plan: Plan, anchor: Anchor) -> float:
        score = c.similarity
        if soft:
            matched = sum(1 for a, v in soft.items() if v in c.product.attributes.get(a, ()))
            score += SOFT_KEEP_WEIGHT * matched / len(soft)
        if anchor.price and c.product.price is not None:  # a tie-breaker; resolve_relative made it a limit
            if "cheaper" in plan.relative:
                score += RELATIVE_PRICE_WEIGHT * (1 if c.product.price < anchor.price else -1)
            if "pricier" in plan.relative:
                score += RELATIVE_PRICE_WEIGHT * (1 if c.product.price > anchor.price else -1)
        return score

    # -- the loop ---------------------------------------------------------------------------------
    def refine(self, anchor: Anchor, text: str, options: RefineOptions | None = None, *,
               plan: Plan | None = None, exclude_ids: set[str] | None = None,
               previous: Plan | None = None) -> RefineResult:
        """``previous``: the plan accumulated over earlier turns of a conversation (``plan`` already includes
        it); a re-plan reads the request in its light and keeps it, rather than forgetting earlier turns."""
        options = options or RefineOptions()
        if options.strategy not in STRATEGIES:
            raise UsageError(f"unknown strategy '{options.strategy}' (choose from {', '.join(STRATEGIES)})")
        timing: dict[str, float] = {}
        t = time.perf_counter()
        if plan is None:
            plan = self.plan(text, anchor)
        timing["plan"] = (time.perf_counter() - t) * 1000
        exclude_ids = set(exclude_ids or ())
        if anchor.catalog_id:
            exclude_ids.add(anchor.catalog_id)
        critic = options.critic
        if plan.include_out_of_stock:
            critic = CriticConfig(**{**critic.__dict__, "in_stock_only": False})
        query_info = {"image": anchor.image, "text": text, "k": options.k, "strategy": options.strategy}
        if options.strategy != "ammr":
            return self._single_shot(anchor, text, plan, options, critic, exclude_ids, timing, query_info)

        t = time.perf_counter()
        relative = resolve_relative(plan, anchor, self.index.vocabulary, min_confidence=options.keep_confidence)
        composed = compose(anchor, plan, self.encoder, self.prompts, relative)
        timing["compose"] = (time.perf_counter() - t) * 1000
        hard, soft = self.keeps(anchor, plan, options.keep_confidence, relative)
        steps: list[Step] = []
        pool = max(50, 5 * options.k)
        ef = None
        stop_reason = ""
        selected: list[Candidate] = []
        retrieve_ms = guard_ms = critic_ms = 0.0
        action = ("search", "composed query with hard filters")
        # Products that passed at a stricter step (before a keep was relaxed) rank above those that
        # only pass after relaxing: the step at which a product first passed is its tier.
        first_passed: dict[str, int] = {}
        for number in range(1, options.max_steps + 1):
            flt = plan_filter(self.index, plan, hard, in_stock_only=critic.in_stock_only, relative=relative)
            t = time.perf_counter()
            candidates, allowed = retrieve(self.index, composed.vector, pool, flt, ef=ef, exclude_ids=exclude_ids)
            retrieve_ms += (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            survivors = []
            for c in candidates:
                c.checks = check_product(c.product, self.index.image_vectors[c.position], plan, hard, soft,
                                         self.prompts, relative)
                if passes(c.checks):
                    c.tier = first_passed.setdefault(c.product.id, number)
                    c.score = self._score(c, composed.vector, soft, plan, anchor)
                    for name, bonus in (options.boost(c.product) if options.boost else {}).items():
                        c.boosts[name] = bonus
                        c.score += bonus
                    survivors.append(c)
            guard_ms += (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            report = select(survivors, options.k, self.index.image_vectors, critic)
            critic_ms += (time.perf_counter() - t) * 1000
            selected = report.selected
            steps.append(Step(number, action[0], action[1], flt.to_dict(), pool, allowed, len(candidates),
                              len(survivors), len(selected), report.to_dict()["dropped"]))
            if len(selected) >= options.k:
                stop_reason = f"found {options.k} products that pass every check"
                break
            # Re-plan: widen first (cheap, changes nothing the shopper said), then relax anchor keeps.
            if len(candidates) < allowed and pool < allowed:
                pool, ef = pool * 4, (ef or ann.HNSW_EF_SEARCH) * 4
                action = ("widen", f"pool {pool}, ef {ef}")
            elif any(a not in plan.keep for a in hard):
                # Attributes the shopper asked to keep ("same colour", or a pick that settled "shorter
                # sleeves") are stated constraints: never relaxed.
                victim = max((a for a in hard if a not in plan.keep),
                             key=lambda a: (keep_rank(a), -anchor.attributes[a].confidence))
                value = hard.pop(victim)
                soft[victim] = value
                action = ("relax", f"stop requiring the anchor's {victim}={value}")
            elif self.fallback_planner is not None and plan.source != getattr(self.fallback_planner, "name", ""):
                alternative = self.plan(text, anchor, previous=previous, planner=self.fallback_planner)
                if previous is not None:
                    from fashrec.planner.merge import merge_plans

                    alternative = merge_plans(previous, alternative)[0]
                if alternative.to_dict() | {"source": "", "notes": []} == plan.to_dict() | {"source": "", "notes": []}:
                    stop_reason = f"only {len(selected)} products satisfy every stated constraint"
                    break
                plan = alternative
                relative = resolve_relative(plan, anchor, self.index.vocabulary,
                                            min_confidence=options.keep_confidence)
                composed = compose(anchor, plan, self.encoder, self.prompts, relative)
                hard, soft = self.keeps(anchor, plan, options.keep_confidence, relative)
                action = ("re-plan", f"alternative reading by the {plan.source} planner")
            else:
                stop_reason = f"only {len(selected)} products satisfy every stated constraint"
                break
        else:
            stop_reason = stop_reason or f"stopped after --max-steps {options.max_steps}"
        timing.update({"retrieve": retrieve_ms, "guard": guard_ms, "critic": critic_ms})
        t = time.perf_counter()
        results = [ResultItem(c, explain(c, i + 1)) for i, c in enumerate(selected)]
        timing["explain"] = (time.perf_counter() - t) * 1000
        return RefineResult(query_info, anchor, plan, steps, results, stop_reason, timing, composed.description,
                            relative)

    def _single_shot(self, anchor: Anchor, text: str, plan: Plan, options: RefineOptions,
                     critic: CriticConfig, exclude_ids: set[str], timing: dict, query_info: dict) -> RefineResult:
        from fashrec.index.filters import Filter

        t = time.perf_counter()
        flt = Filter(exclude_ids=exclude_ids)
        k = options.k
        if options.strategy == "image":
            found = self.index.nearest(anchor.vector, k, flt=flt)
            pairs = list(zip(found.positions, found.scores))
        else:
            text_vec = self.encoder.encode_texts([text or ""])[0]
            if options.strategy == "text":
                hits = blended_text_search(self.index, text_vec, k, flt)
                pairs = [(self.index.position(h.product.id), h.score) for h in hits]
            else:
                found = self.index.nearest(fuse(anchor.vector, text_vec), k, flt=flt)
                pairs = list(zip(found.positions, found.scores))
        timing["retrieve"] = (time.perf_counter() - t) * 1000
        hard, soft = self.keeps(anchor, plan, options.keep_confidence)
        results = []
        for pos, score in pairs:
            c = Candidate(self.index.products[int(pos)], int(pos), float(score), float(score))
            c.checks = check_product(c.product, self.index.image_vectors[c.position], plan, hard, soft, self.prompts)
            results.append(ResultItem(c, explain(c, len(results) + 1)))
        step = Step(1, "single-shot", options.strategy, flt.to_dict(), k, len(self.index), len(pairs),
                    sum(passes(r.candidate.checks) for r in results), len(results))
        return RefineResult(query_info, anchor, plan, [step], results, f"single-shot {options.strategy}", timing,
                            " ".join(target_attributes(anchor, plan).values()))
