"""AMMR stage 7, the agent loop: anchor + request -> constraints -> compose -> retrieve -> guard -> critic.

:class:`Refiner` holds the loaded index, encoder and planners and answers many requests. One request:
plan it (unless a plan is given), apply the shopper's standing rules, read the constraints, then run
search steps until k products pass every check; between steps a re-plan policy
(:mod:`fashrec.ammr.replan`) widens, gives up kept look attributes or re-reads the request, never
relaxing the anchor's identity or what the shopper stated. The loop stops with a reason, bounded by
``max_steps``. When fewer than k products pass, the answer says so and counts what each relaxation would
yield (:mod:`fashrec.ammr.shortfall`), and near misses from the best of them go to ``alternatives``
(unless ``RefineOptions(alternatives=False)``, the CLI's ``--strict``), never into ``results``.

Other answering strategies (the single-shot baselines of :mod:`fashrec.evaluation.baselines`) join
through :func:`register_strategy` and are reached with ``RefineOptions(strategy=...)``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from fashrec.ammr.alternatives import draw_alternatives, lacks_only_what_option_frees
from fashrec.ammr.anchor import blend_anchors, understand_anchor
from fashrec.ammr.compose import compose
from fashrec.ammr.constraints import (
    IDENTITY_CONFIDENCE,
    KEEP_CONFIDENCE,
    assumptions,
    read_constraints,
    unsure_keeps,
)
from fashrec.ammr.critic import select
from fashrec.ammr.explain import near_miss, result_item
from fashrec.ammr.guard import check_product, passes
from fashrec.ammr.rank import score
from fashrec.ammr.replan import POLICIES, Attempt, Outcome, Request
from fashrec.ammr.retrieve import constraint_filter, retrieve
from fashrec.ammr.shortfall import Counts, shortfall, without
from fashrec.ammr.types import (
    SHOPPER,
    Anchor,
    Booster,
    Candidate,
    CriticConfig,
    Option,
    Personalization,
    RefineResult,
    ResultItem,
    Shortfall,
    StandingRules,
    Step,
)
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
    identity_confidence: float = IDENTITY_CONFIDENCE
    critic: CriticConfig = field(default_factory=CriticConfig)
    # Named score bonuses per product; recorded in Candidate.boosts. A profile's preferences replace it.
    boost: Booster | None = None
    # Standing rules (a personal profile, fashrec.profile.Profile) applied once the request is planned.
    profile: StandingRules | None = None
    # When fewer than k products satisfy everything: look for labelled near misses (False: --strict).
    alternatives: bool = True


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
    personal: Personalization | None = None
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
        constraints = read_constraints(plan, anchor, self.index.vocabulary, keep_confidence=options.keep_confidence,
                                       identity_confidence=options.identity_confidence)
        attempt = Attempt(constraints, compose(anchor, constraints, self.encoder, self.prompts),
                          pool=max(50, 5 * options.k))
        timing["compose"] = (time.perf_counter() - t) * 1000
        run = self._start(anchor, text, plan, options, personal, exclude_ids, previous, timing)
        steps: list[Step] = []
        selected: list[Candidate] = []
        stop_reason = ""
        for number in range(1, options.max_steps + 1):
            selected, step = self._step(run, attempt, number)
            steps.append(step)
            if len(selected) >= options.k:
                stop_reason = f"found {options.k} products that pass every check"
                break
            outcome = Outcome(step.allowed, step.retrieved, step.selected)
            following = next((a for policy in POLICIES if (a := policy(self, run.request, attempt, outcome))), None)
            if following is None:
                break
            attempt = following
        else:
            stop_reason = f"stopped after --max-steps {options.max_steps}"
        short, alternatives = None, []
        if len(selected) < options.k:
            short, alternatives = self._shortfall(run, attempt, selected, steps)
            stop_reason = "; ".join(r for r in (stop_reason, short.message) if r)
        t = time.perf_counter()
        given_up = set(constraints.hard) - set(attempt.constraints.hard)
        results = [result_item(c, personal, given_up) for c in selected]
        timing["explain"] = (time.perf_counter() - t) * 1000
        query = {"image": anchor.image, "text": text, "k": options.k, "strategy": options.strategy}
        ask_below = max(options.ask_below or 0.0, options.keep_confidence)   # a keep is never dropped unsaid
        used = assumptions(anchor, constraints, attempt.constraints, keep_confidence=options.keep_confidence,
                           identity_confidence=options.identity_confidence)
        return RefineResult(query, anchor, attempt.constraints.plan, steps, results, stop_reason, timing,
                            attempt.composed.description, attempt.constraints.relative, personal,
                            unsure=unsure_keeps(anchor, constraints, ask_below), shortfall=short,
                            alternatives=alternatives, assumptions=used)

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
        counts = Counts.for_request(self.index, in_stock_only=critic.in_stock_only, exclude_ids=excluded)
        request = Request(anchor, text, previous, options.keep_confidence, options.k, counts,
                          options.identity_confidence)
        return _Run(request, options, critic,
                    personal.boost if personal else options.boost, excluded, timing, personal)

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

    def _shortfall(self, run: _Run, attempt: Attempt, selected: list[Candidate],
                   steps: list[Step]) -> tuple[Shortfall, list[ResultItem]]:
        """Say how short the answer is and what each relaxation would yield; fetch near misses from the
        best options (each option used adds a step) unless alternatives are switched off."""
        t = time.perf_counter()
        counts = run.request.counts
        assert counts is not None
        constraints = attempt.constraints
        look = constraints.look_keeps()
        if look and counts.count(constraints.relaxed(*look)) == counts.count(constraints):
            # Kept look attributes that exclude nothing more: the shortfall is about what was said and
            # the anchor's identity, and so are the ways forward.
            constraints = constraints.relaxed(*look)
        attempt = replace(attempt, constraints=constraints)
        corrected = [a for a, g in run.request.anchor.attributes.items() if g.source == SHOPPER]
        short = shortfall(counts, constraints, len(selected), run.options.k, alternatives=run.options.alternatives,
                          fixed=corrected)
        run.timing["shortfall"] = (time.perf_counter() - t) * 1000
        if not run.options.alternatives:
            return short, []

        def fetch(option: Option, need: int, answered: set[str]) -> list[ResultItem]:
            found, step = self._near_misses(run, attempt, option, need, answered, len(steps) + 1)
            steps.append(step)     # each option used adds a step
            return found

        alternatives = draw_alternatives(short.options, counts.count(attempt.constraints),
                                         run.options.k - len(selected), {c.product.id for c in selected}, fetch,
                                         product_id=lambda item: item.candidate.product.id)
        return short, alternatives

    def _near_misses(self, run: _Run, attempt: Attempt, option: Option, need: int, answered: set[str],
                     number: int) -> tuple[list[ResultItem], Step]:
        """Products that satisfy everything except what ``option`` gives up, each saying what it lacks."""
        relaxed = without(attempt.constraints, option.relax)
        flt = constraint_filter(self.index, relaxed, in_stock_only=run.critic.in_stock_only)
        pool = max(50, 5 * need)
        t = time.perf_counter()
        candidates, allowed = retrieve(self.index, attempt.composed.vector, pool, flt, ef=attempt.ef,
                                       exclude_ids=run.exclude_ids | answered)
        run.timing["retrieve"] += (time.perf_counter() - t) * 1000
        survivors = []
        for c in candidates:
            checks = lacks_only_what_option_frees(c.product, self.index.image_vectors[c.position],
                                                  attempt.constraints, option, self.prompts)
            if checks is not None:
                c.checks = checks
                c.score = score(c, relaxed, run.request.anchor, run.boost)
                survivors.append(c)
        survivors = self._not_duplicating(survivors, answered, run.critic)
        report = select(survivors, need, self.index.image_vectors, run.critic)
        labels = " and ".join(r.label for r in option.relax)
        step = Step(number, "alternatives", f"near misses without {labels}", flt.to_dict(), pool, allowed,
                    len(candidates), len(survivors), len(report.selected), report.to_dict()["dropped"])
        return [near_miss(c, option.number, run.personal) for c in report.selected], step

    def _not_duplicating(self, candidates: list[Candidate], shown: set[str], critic: CriticConfig) -> list[Candidate]:
        """Near misses that are not near-duplicates of a product already in the answer."""
        positions = [p for i in shown if (p := self.index.position(i)) is not None]
        if not candidates or not positions or critic.dedupe_similarity >= 1:
            return candidates
        vectors = self.index.image_vectors
        closest = (vectors[[c.position for c in candidates]] @ vectors[positions].T).max(axis=1)
        return [c for c, sim in zip(candidates, closest) if sim < critic.dedupe_similarity]

    def _other_strategy(self, anchor: Anchor, text: str, options: RefineOptions, **request) -> RefineResult:
        with _LOCK:
            answer = _STRATEGIES.get(options.strategy)
        if answer is None:
            raise UsageError(f"unknown strategy '{options.strategy}' (choose from "
                             f"{', '.join(available_strategies())})")
        return answer(self, anchor, text, options, **request)
