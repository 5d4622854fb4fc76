"""AMMR stage 5b, ranking: the score of a candidate that passed the guard.

Look similarity to the composed query, plus a small bonus per softly kept anchor attribute it has, a
tie-breaker for "cheaper"/"pricier" (resolved wishes already made them limits) and any named boosts
(the shopper's preferences), each recorded on the candidate so the reason can name it.
"""

from __future__ import annotations

from fashrec.ammr.types import Anchor, Booster, Candidate, Constraints

SOFT_KEEP_WEIGHT = 0.08     # ranking bonus for matching the anchor's other attributes
RELATIVE_PRICE_WEIGHT = 0.05


def score(candidate: Candidate, constraints: Constraints, anchor: Anchor, boost: Booster | None) -> float:
    """The candidate's ranking score; its boosts are recorded in ``candidate.boosts``."""
    value = candidate.similarity
    soft, plan, price = constraints.soft, constraints.plan, candidate.product.price
    if soft:
        matched = sum(1 for a, v in soft.items() if v in candidate.product.attributes.get(a, ()))
        value += SOFT_KEEP_WEIGHT * matched / len(soft)
    if anchor.price and price is not None:
        if "cheaper" in plan.relative:
            value += RELATIVE_PRICE_WEIGHT * (1 if price < anchor.price else -1)
        if "pricier" in plan.relative:
            value += RELATIVE_PRICE_WEIGHT * (1 if price > anchor.price else -1)
    for name, bonus in (boost(candidate.product) if boost else {}).items():
        candidate.boosts[name] = bonus
        value += bonus
    return value
