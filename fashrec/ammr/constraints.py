"""AMMR stage 3a, the constraints record: one request read against one anchor, built once.

The plan (what the words said), its relative wishes resolved against the anchor ("shorter sleeves" ->
sleeve in sleeveless/short) and the anchor attributes the request left alone become one
:class:`~fashrec.ammr.types.Constraints` record. Compose, retrieve, guard, critic and explain only read
it; the loop's re-plan policies build a new one (relaxing a keep, or another reading of the request).
"""

from __future__ import annotations

from fashrec.ammr.relative import resolve_relative
from fashrec.ammr.types import SHOPPER, Anchor, Constraints, Resolution, Unsure
from fashrec.catalog import Vocabulary
from fashrec.catalog.roles import KEEP_ORDER, role_of
from fashrec.planner import Plan

KEEP_CONFIDENCE = 0.5       # anchor attributes inferred at least this confidently are kept


def read_constraints(plan: Plan, anchor: Anchor, vocabulary: Vocabulary, *,
                     keep_confidence: float = KEEP_CONFIDENCE, resolve_wishes: bool = True) -> Constraints:
    """The constraints of ``plan`` for ``anchor``; ``resolve_wishes=False`` leaves relative wishes as
    ranking hints (the single-shot baselines do not resolve them)."""
    relative = (resolve_relative(plan, anchor, vocabulary, min_confidence=keep_confidence)
                if resolve_wishes else Resolution())
    hard, soft = anchor_keeps(anchor, plan, relative, keep_confidence)
    return Constraints(plan, relative, hard, soft)


def anchor_keeps(anchor: Anchor, plan: Plan, relative: Resolution,
                 min_confidence: float) -> tuple[dict[str, str], dict[str, str]]:
    """(hard keeps, soft keeps): confident anchor attributes the request did not touch.

    Those that define a product's identity (:data:`~fashrec.catalog.roles.KEEP_ORDER`) or that the
    shopper asked to keep are hard; the rest only help ranking.
    """
    touched = _touched(plan, relative)
    hard, soft = {}, {}
    for attr, guess in anchor.attributes.items():
        if attr in touched or guess.confidence < min_confidence:
            continue
        if role_of(attr) in KEEP_ORDER or attr in plan.keep:
            hard[attr] = guess.value
        else:
            soft[attr] = guess.value
    return hard, soft


def unsure_keeps(anchor: Anchor, constraints: Constraints, ask_below: float) -> list[Unsure]:
    """The identity attributes the request left alone and read below ``ask_below``: those not kept (under
    the keep threshold, so the results may differ in them) and, when ``ask_below`` is above that
    threshold, those kept on a guess worth confirming. The shopper is shown the reading and asked; what
    the shopper already corrected is their word, not a reading, and is never asked again."""
    touched = _touched(constraints.plan, constraints.relative)
    unsure = [Unsure(attr, guess, ask_below, kept=attr in constraints.hard)
              for attr, guess in anchor.attributes.items()
              if attr not in touched and guess.source != SHOPPER and guess.confidence < ask_below
              and role_of(attr) in KEEP_ORDER]
    return sorted(unsure, key=lambda u: KEEP_ORDER.index(role_of(u.attribute)))


def _touched(plan: Plan, relative: Resolution) -> set[str]:
    """The attributes the request itself decides (set, excluded, dropped or steered)."""
    return set(plan.set) | set(plan.exclude) | set(plan.drop) | set(relative.within)
