"""AMMR stage 7, re-planning: what the loop tries when fewer than k products survive a step.

Policies are tried in order; the first that applies gives the next attempt:

1. :func:`widen`: search deeper (a larger pool and HNSW ``ef``) while the filter allows more products
   than were retrieved. Cheap, and changes nothing the shopper said.
2. :func:`relax_keep`: stop requiring the least important anchor attribute that was kept only because
   the request did not mention it (category is relaxed last). What the shopper said -- including "same
   colour" and what a pick settled -- is never relaxed.
3. :func:`reread`: read the request with the fallback planner; a different reading is a new attempt.

When none applies the loop stops and says how many products satisfy every stated constraint.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Protocol

from fashrec.ammr.compose import ComposedQuery, compose
from fashrec.ammr.constraints import read_constraints
from fashrec.ammr.types import Anchor, Constraints
from fashrec.catalog.roles import keep_rank
from fashrec.encoder import Encoder
from fashrec.encoder.prompts import AttributePrompts
from fashrec.index import Index, ann
from fashrec.planner import Plan, Planner
from fashrec.planner.merge import merge_plans

WIDEN_FACTOR = 4


@dataclass(frozen=True)
class Attempt:
    """One search the loop runs: what it must satisfy, the query, and how deep it looks."""

    constraints: Constraints
    composed: ComposedQuery
    pool: int
    ef: int | None = None
    action: str = "search"
    detail: str = "composed query with hard filters"


@dataclass(frozen=True)
class Outcome:
    """What an attempt found: how many products its filter allowed, retrieved and selected."""

    allowed: int
    retrieved: int
    selected: int


@dataclass(frozen=True)
class Request:
    """The request being answered, as the re-reading policy needs it."""

    anchor: Anchor
    text: str
    previous: Plan | None
    keep_confidence: float


class Replanner(Protocol):
    """What the policies use of the loop (:class:`fashrec.ammr.loop.Refiner`)."""

    index: Index
    encoder: Encoder
    prompts: AttributePrompts
    fallback_planner: Planner | None

    def plan(self, text: str, anchor: Anchor, previous: Plan | None = None,
             planner: Planner | None = None) -> Plan: ...


Policy = Callable[[Replanner, Request, Attempt, Outcome], "Attempt | None"]


def widen(refiner: Replanner, request: Request, attempt: Attempt, outcome: Outcome) -> Attempt | None:
    if not (outcome.retrieved < outcome.allowed and attempt.pool < outcome.allowed):
        return None
    pool, ef = attempt.pool * WIDEN_FACTOR, (attempt.ef or ann.HNSW_EF_SEARCH) * WIDEN_FACTOR
    return replace(attempt, pool=pool, ef=ef, action="widen", detail=f"pool {pool}, ef {ef}")


def relax_keep(refiner: Replanner, request: Request, attempt: Attempt, outcome: Outcome) -> Attempt | None:
    constraints = attempt.constraints
    # Attributes the shopper asked to keep ("same colour", or a pick that settled "shorter sleeves") are
    # stated constraints: never relaxed.
    relaxable = [a for a in constraints.hard if a not in constraints.plan.keep]
    if not relaxable:
        return None
    victim = max(relaxable, key=lambda a: (keep_rank(a), -request.anchor.attributes[a].confidence))
    value = constraints.hard[victim]
    return replace(attempt, constraints=constraints.relaxed(victim), action="relax",
                   detail=f"stop requiring the anchor's {victim}={value}")


def reread(refiner: Replanner, request: Request, attempt: Attempt, outcome: Outcome) -> Attempt | None:
    fallback, plan = refiner.fallback_planner, attempt.constraints.plan
    if fallback is None or plan.source == getattr(fallback, "name", ""):
        return None
    alternative = refiner.plan(request.text, request.anchor, previous=request.previous, planner=fallback)
    if request.previous is not None:   # a conversation: the new reading joins the earlier turns
        alternative = merge_plans(request.previous, alternative)[0]
    if _same_reading(alternative, plan):
        return None
    constraints = read_constraints(alternative, request.anchor, refiner.index.vocabulary,
                                   keep_confidence=request.keep_confidence)
    composed = compose(request.anchor, constraints, refiner.encoder, refiner.prompts)
    return replace(attempt, constraints=constraints, composed=composed, action="re-plan",
                   detail=f"alternative reading by the {alternative.source} planner")


def _same_reading(a: Plan, b: Plan) -> bool:
    return a.to_dict() | {"source": "", "notes": []} == b.to_dict() | {"source": "", "notes": []}


POLICIES: tuple[Policy, ...] = (widen, relax_keep, reread)
