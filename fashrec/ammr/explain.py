"""AMMR stage 8, explanations: one line per result, built only from verified facts (guard checks)."""

from __future__ import annotations

from fashrec.ammr.types import Candidate, Check, Personalization
from fashrec.catalog.roles import KEEP_ORDER, role_of
from fashrec.planner.plan import BRAND, SIZE

SELF_EXPLAINING = {"category", "color", "material", "pattern", "gender", "usage", "season"}


def _fact(check: Check) -> str:
    how = "" if check.evidence == "catalog" else f" ({check.evidence})"
    if check.kind == "price":
        return f"price {check.evidence} {check.expected.replace('<=', 'within').replace('>=', 'from')}"
    if check.kind == "exclude":
        return f"{check.attribute} {check.expected}{how}"
    if check.kind == "within":   # "shorter sleeves": say which value the product has
        value = check.evidence.removeprefix("catalog: ")
        return f"{check.attribute} {value}" if value != check.evidence else f"{check.attribute} ({check.evidence})"
    if check.attribute in (BRAND, SIZE):  # "size m/l", "brand nordvik": a bare "m" says nothing
        return f"{check.attribute} {check.expected}{how}"
    return f"{check.expected}{how}"


def _kept(check: Check) -> str:
    """ "white", "shirt" speak for themselves; "short" needs its attribute: "sleeve short"."""
    role = role_of(check.attribute)
    return check.expected if role in SELF_EXPLAINING else f"{check.attribute} {check.expected}"


def explain(candidate: Candidate, personal: Personalization | None = None) -> str:
    """The reason shown for a result; ``personal`` adds what the shopper's standing rules did to it."""
    asked = [_fact(c) for c in candidate.checks if c.ok and c.kind in ("set", "within", "exclude", "price")]
    kept = [_kept(c) for c in candidate.checks if c.ok and c.kind == "keep"]
    parts = []
    if asked:
        parts.append("matches " + ", ".join(asked))
    if kept:
        parts.append("keeps the anchor's " + ", ".join(kept))
    missed = [c.label for c in candidate.checks if not c.ok and c.hard]
    if missed:
        parts.append("differs in " + ", ".join(missed))
    # A product that only passed after the loop relaxed a kept anchor attribute says which one.
    relaxed = [c.expected for c in candidate.checks if c.kind == "keep" and not c.hard and c.ok is False
               and role_of(c.attribute) in KEEP_ORDER]
    if relaxed and candidate.tier > 1:
        parts.append("not the anchor's " + ", ".join(relaxed) + " (relaxed: too few matches)")
    parts.append(f"look similarity {candidate.similarity:.2f}")
    if "sponsored" in candidate.boosts:
        parts.append(f"sponsored (+{candidate.boosts['sponsored']:.2f}, capped)")
    if personal is not None:
        parts += personal.notes_for(candidate)
    return "; ".join(parts)
