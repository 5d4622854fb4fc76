"""AMMR stage 7, re-planning: what the loop tries when fewer than k products survive a step.

Policies are tried in order; the first that applies gives the next attempt:

1. :func:`widen`: search deeper (a larger pool and HNSW ``ef``) while the filter allows more products
   than were retrieved. Cheap, and changes nothing the shopper said.
2. :func:`relax_look`: stop requiring kept anchor attributes that only describe its look (colour,
   material, pattern) and that the request did not mention. It counts what each combination would let
   through (the filter masks are vectorised) and gives up the fewest that reach k, or all of them when
   none does -- in one step, rather than one attribute per step. The anchor's identity (category,
   gender) and whatever the shopper said -- including "same colour" and what a pick settled -- are
   never relaxed here: products without them are alternatives (:mod:`fashrec.ammr.shortfall`), never
   results.
3. :func:`other_reading`: an identity attribute read between two values ("sports shoes or casual
   shoes", :func:`fashrec.ammr.constraints.identity_readings`) was searched at its likeliest reading
   only; now either reading will do. The products found so far stay first (their tier); the answer's
   assumptions say that the rest have the photo's other reading.
4. :func:`reread`: read the request with the fallback planner; a different reading is a new attempt.

When none applies the loop stops and says how many products satisfy every stated constraint.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import combinations
from typing import Callable, Protocol

from fashrec.ammr.compose import ComposedQuery, compose
from fashrec.ammr.constraints import IDENTITY_CONFIDENCE, read_constraints
from fashrec.ammr.shortfall import Counts
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
    """The request being answered, as the policies need it: the re-reading and how many to find."""

    anchor: Anchor
    text: str
    previous: Plan | None
    keep_confidence: float
    k: int = 10
    counts: Counts | None = None   # counts products under a set of constraints (stock and exclusions applied)
    identity_confidence: float = IDENTITY_CONFIDENCE


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
    pool, ef = attempt.pool * WIDEN_FACTOR, (attempt.ef or ann.graph_ef(refiner.index.graph, len(refiner.index))) * WIDEN_FACTOR
    return replace(attempt, pool=pool, ef=ef, action="widen", detail=f"pool {pool}, ef {ef}")


def relax_look(refiner: Replanner, request: Request, attempt: Attempt, outcome: Outcome) -> Attempt | None:
    constraints = attempt.constraints
    look = constraints.look_keeps()
    if not look:
        return None
    given_up = _fewest_reaching(constraints, look, request, outcome.allowed)
    if not given_up:
        return None
    values = ", ".join(f"{a}={constraints.hard[a]}" for a in given_up)
    return replace(attempt, constraints=constraints.relaxed(*given_up), action="relax",
                   detail=f"stop requiring the anchor's {values}")


def _fewest_reaching(constraints: Constraints, look: list[str], request: Request, allowed: int) -> tuple[str, ...]:
    """The smallest set of look keeps whose release lets at least k products through (the least
    important attributes first); all of them when no set reaches k. Empty when releasing them would
    change nothing the filter can see and the guard checks none of them on images."""
    if request.counts is None:   # nothing to count with: release the least important one, as a person would
        return (max(look, key=lambda a: (keep_rank(a), -request.anchor.attributes[a].confidence)),)
    counted = []
    for size in range(1, len(look) + 1):
        for subset in combinations(look, size):
            counted.append((subset, request.counts.count(constraints.relaxed(*subset))))
    reaching = [(s, n) for s, n in counted if n >= request.k]
    if reaching:   # the fewest, then the least important (a pattern before a colour), then the most products
        return min(reaching, key=lambda sn: (len(sn[0]), sorted(-keep_rank(a) for a in sn[0]), -sn[1]))[0]
    everything, n = counted[-1]
    unchecked = [a for a in look if request.counts.index.coverage(a) < 1.0]  # verified on images by the guard
    return everything if n > allowed or unchecked else ()


def other_reading(refiner: Replanner, request: Request, attempt: Attempt, outcome: Outcome) -> Attempt | None:
    constraints = attempt.constraints
    narrow = constraints.narrowable()
    if not narrow:
        return None
    chosen = tuple(narrow)
    if request.counts is not None:
        now = request.counts.count(constraints)
        counted = [(subset, request.counts.count(constraints.widened(*subset)))
                   for size in range(1, len(narrow) + 1) for subset in combinations(narrow, size)]
        counted = [(subset, n) for subset, n in counted if n > now]
        if not counted:      # the other reading adds no product: nothing to widen to
            return None
        reaching = [(subset, n) for subset, n in counted if n >= request.k]
        # The fewest attributes that reach k (most products among them), else the widest.
        best = min(reaching, key=lambda sn: (len(sn[0]), -sn[1])) if reaching else max(counted, key=lambda sn: sn[1])
        chosen = best[0]
    values = ", ".join(f"{a} {' or '.join(constraints.either[a])}" for a in chosen)
    return replace(attempt, constraints=constraints.widened(*chosen), action="other reading",
                   detail=f"also the photo's other reading: {values}")


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
                                   keep_confidence=request.keep_confidence,
                                   identity_confidence=request.identity_confidence)
    composed = compose(request.anchor, constraints, refiner.encoder, refiner.prompts)
    return replace(attempt, constraints=constraints, composed=composed, action="re-plan",
                   detail=f"alternative reading by the {alternative.source} planner")


def _same_reading(a: Plan, b: Plan) -> bool:
    return a.to_dict() | {"source": "", "notes": []} == b.to_dict() | {"source": "", "notes": []}


POLICIES: tuple[Policy, ...] = (widen, relax_look, other_reading, reread)
