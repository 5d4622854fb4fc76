"""AMMR stage 7, the agent loop: anchor + request -> constraints -> compose -> retrieve -> guard -> critic.

:class:`Refiner` holds the loaded index, encoder and planners and answers many requests. One request:
plan it (unless a plan is given), apply the shopper's standing rules, read the constraints, then run
search steps until k products pass every check; between steps a re-plan policy
(:mod:`fashrec.ammr.replan`) widens, relaxes an anchor keep or re-reads the request, never relaxing what
the shopper stated. The loop stops with a reason, bounded by ``max_steps``.

Other answering strategies (the single-shot baselines of :mod:`fashrec.evaluation.baselines`) join
through :func:`register_strategy` and are reached with ``RefineOptions(strategy=...)``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from fashrec.ammr.anchor import blend_anchors, understand_anchor
from fashrec.ammr.compose import compose
from fashrec.ammr.constraints import KEEP_CONFIDENCE, read_constraints, unsure_keeps
from fashrec.ammr.critic import select
from fashrec.ammr.explain import explain
from fashrec.ammr.guard import check_product, passes
from fashrec.ammr.rank import score
from fashrec.ammr.replan import POLICIES, Attempt, Outcome, Request
from fashrec.ammr.retrieve import constraint_filter, retrieve
from fashrec.ammr.types import (
    Anchor,
    Booster,
    Candidate,
    CriticConfig,
    Personalization,
    RefineResult,
    ResultItem,
    StandingRules,
    Step,
)
from fashrec.catalog.wording import plural
from fashrec.encoder import Encoder
from fashrec.encoder.prompts import AttributePrompts
from fashrec.errors import UsageError
from fashrec.index import Index
from fashrec.planner import Plan, PlanContext, Planner

AMMR = "ammr"


@dataclass
class RefineOptions:
    k: int = 10
    strategy: str = AMMR
    max_steps: int = 5
    keep_confidence: float = KEEP_CONFIDENCE
    # Identity attributes read below this are shown and asked about (RefineResult.unsure); at the keep
    # threshold only those not kept, above it also kept guesses worth confirming.
    ask_below: float | None = None       # None: the keep threshold
    critic: CriticConfig = field(default_factory=CriticConfig)
    # Named score bonuses per product; recorded in Candidate.boosts. A profile's preferences replace it.
    boost: Booster | None = None
    # Standing rules (a personal profile, fashrec.profile.Profile) applied once the request is planned.
    profile: StandingRules | None = None


Strategy = Callable[..., RefineResult]
_STRATEGIES: dict[str, Strategy] = {}
_LOCK = threading.Lock()


def register_strategy(name: str, answer: Strategy, *, replace_existing: bool = False) -> None:
    """Make ``RefineOptions(strategy=name)`` answer with ``answer(refiner, anchor, text, options, ...)``."""
    with _LOCK:
        if name == AMMR or (name in _STRATEGIES and not replace_existing):
            raise ValueError(f"a strategy named '{name}' is already registered")
        _STRATEGIES[name] = answer


def available_strategies() -> list[str]:
    with _LOCK:
        return [AMMR, *sorted(_STRATEGIES)]


@dataclass
class _Run:
    """What one request's steps share: its limits (after the standing rules) and the step timings."""

    request: Request
    options: RefineOptions
    critic: CriticConfig
    boost: Booster | None
    exclude_ids: set[str]
    timing: dict[str, float]
    first_passed: dict[str, int] = field(default_factory=dict)


class Refiner:
    """Holds the loaded index, encoder, planner and prompt cache; answers many requests."""

    def __init__(self, index: Index, encoder: Encoder, planner: Planner | None = None, *,
                 fallback_planner: Planner | None = None) -> None:
        self.index = index
        self.encoder = encoder
        self.planner = planner
        self.fallback_planner = fallback_planner
        self.prompts = AttributePrompts(index, encoder)

    # -- stages -----------------------------------------------------------------------------------
    def anchor_from_image(self, image: str | Path) -> Anchor:
        vector = self.encoder.encode_images([Path(image)])[0]
        return understand_anchor(self.index, vector, self.prompts, image=image)

    def anchor_from_images(self, images: list[str | Path], unlike: list[str | Path] = ()) -> tuple[Anchor, set[str]]:
        """"Like these, not like those": each photo read as an anchor, blended (:func:`blend_anchors`);
        with the ids of the catalog products the photos are, which an answer should not offer back."""
        anchors = [self.anchor_from_image(image) for image in images]
        shown = {a.catalog_id for a in anchors if a.catalog_id}
        if len(anchors) == 1 and not unlike:
            return anchors[0], shown
        away = list(self.encoder.encode_images([Path(p) for p in unlike])) if unlike else []
        return blend_anchors(self.index, anchors, away), shown

    def plan(self, text: str, anchor: Anchor, previous: Plan | None = None, planner: Planner | None = None) -> Plan:
        planner = planner or self.planner
        if planner is None:
            raise UsageError("no planner configured")
        context = PlanContext(vocabulary=self.index.vocabulary, anchor=anchor.values(KEEP_CONFIDENCE),
                              previous=previous, currency=self.index.currency)
        return planner.plan(text or "", context)

    def personalize(self, anchor: Anchor, plan: Plan, options: RefineOptions) -> Personalization | None:
        """The standing rules (profile) as limits for this request; None without rules."""
        rules = options.profile
        if rules is None or rules.is_empty():
            return None
        return rules.apply(self.index, anchor, plan, options.critic)

    # -- the loop ---------------------------------------------------------------------------------
    def refine(self, anchor: Anchor, text: str, options: RefineOptions | None = None, *,
               plan: Plan | None = None, exclude_ids: set[str] | None = None,
               previous: Plan | None = None) -> RefineResult:
        """Answer ``text`` about ``anchor``.

        ``previous``: the plan accumulated over earlier turns of a conversation (``plan``, when given,
        already includes it); a re-plan reads the request in its light rather than forgetting them.
        """
        options = options or RefineOptions()
        if options.strategy != AMMR:
            return self._other_strategy(anchor, text, options, plan=plan, exclude_ids=exclude_ids,
                                        previous=previous)
        timing: dict[str, float] = {}
        t = time.perf_counter()
        plan = plan if plan is not None else self.plan(text, anchor, previous=previous)
        timing["plan"] = (time.perf_counter() - t) * 1000
        personal = self.personalize(anchor, plan, options)
        t = time.perf_counter()
        constraints = read_constraints(plan, anchor, self.index.vocabulary, keep_confidence=options.keep_confidence)
        attempt = Attempt(constraints, compose(anchor, constraints, self.encoder, self.prompts),
                          pool=max(50, 5 * options.k))
        timing["compose"] = (time.perf_counter() - t) * 1000
        run = self._start(anchor, text, plan, options, personal, exclude_ids, previous, timing)
        steps: list[Step] = []
        selected: list[Candidate] = []
        for number in range(1, options.max_steps + 1):
            selected, step = self._step(run, attempt, number)
            steps.append(step)
            if len(selected) >= options.k:
                stop_reason = f"found {options.k} products that pass every check"
                break
            outcome = Outcome(step.allowed, step.retrieved, step.selected)
            following = next((a for policy in POLICIES if (a := policy(self, run.request, attempt, outcome))), None)
            if following is None:
                verb = "satisfies" if len(selected) == 1 else "satisfy"
                stop_reason = f"only {plural(len(selected), 'product')} {verb} every stated constraint"
                break
            attempt = following
        else:
            stop_reason = f"stopped after --max-steps {options.max_steps}"
        t = time.perf_counter()
        results = [ResultItem(c, explain(c, personal)) for c in selected]
        timing["explain"] = (time.perf_counter() - t) * 1000
        query = {"image": anchor.image, "text": text, "k": options.k, "strategy": options.strategy}
        ask_below = max(options.ask_below or 0.0, options.keep_confidence)   # a keep is never dropped unsaid
        return RefineResult(query, anchor, attempt.constraints.plan, steps, results, stop_reason, timing,
                            attempt.composed.description, attempt.constraints.relative, personal,
                            unsure_keeps(anchor, constraints, ask_below))

    def _start(self, anchor: Anchor, text: str, plan: Plan, options: RefineOptions,
               personal: Personalization | None, exclude_ids: set[str] | None, previous: Plan | None,
               timing: dict[str, float]) -> _Run:
        critic = personal.critic if personal else options.critic
        if plan.include_out_of_stock:
            critic = replace(critic, in_stock_only=False)
        excluded = set(exclude_ids or ()) | (personal.exclude_ids if personal else set())
        if anchor.catalog_id:
            excluded.add(anchor.catalog_id)
        timing.update({"retrieve": 0.0, "guard": 0.0, "critic": 0.0})
        return _Run(Request(anchor, text, previous, options.keep_confidence), options, critic,
                    personal.boost if personal else options.boost, excluded, timing)

    def _step(self, run: _Run, attempt: Attempt, number: int) -> tuple[list[Candidate], Step]:
        """One filtered search, guarded and criticised; products keep the tier of the step they first passed."""
        flt = constraint_filter(self.index, attempt.constraints, in_stock_only=run.critic.in_stock_only)
        t = time.perf_counter()
        candidates, allowed = retrieve(self.index, attempt.composed.vector, attempt.pool, flt, ef=attempt.ef,
                                       exclude_ids=run.exclude_ids)
        run.timing["retrieve"] += (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        survivors = []
        for c in candidates:
            c.checks = check_product(c.product, self.index.image_vectors[c.position], attempt.constraints,
                                     self.prompts)
            if passes(c.checks):
                # Products that passed at a stricter step (before a keep was relaxed) rank above those
                # that only pass after relaxing: the step at which a product first passed is its tier.
                c.tier = run.first_passed.setdefault(c.product.id, number)
                c.score = score(c, attempt.constraints, run.request.anchor, run.boost)
                survivors.append(c)
        run.timing["guard"] += (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        report = select(survivors, run.options.k, self.index.image_vectors, run.critic)
        run.timing["critic"] += (time.perf_counter() - t) * 1000
        step = Step(number, attempt.action, attempt.detail, flt.to_dict(), attempt.pool, allowed, len(candidates),
                    len(survivors), len(report.selected), report.to_dict()["dropped"])
        return report.selected, step

    def _other_strategy(self, anchor: Anchor, text: str, options: RefineOptions, **request) -> RefineResult:
        with _LOCK:
            answer = _STRATEGIES.get(options.strategy)
        if answer is None:
            raise UsageError(f"unknown strategy '{options.strategy}' (choose from "
                             f"{', '.join(available_strategies())})")
        return answer(self, anchor, text, options, **request)
