"""AMMR stage 8, explanations: one line per result, built only from verified facts (guard checks).

A near miss (an alternative) starts with what it lacks and what it has instead: "lacks category=shirt
(has tshirts)"; a result never lacks anything stated or the anchor's identity.
"""

from __future__ import annotations

from typing import Iterable

from fashrec.ammr.types import Candidate, Check, Personalization, ResultItem
from fashrec.catalog import Product
from fashrec.catalog.roles import role_of
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
    if check.kind == "either":   # "sports shoes or casual shoes": say which one it is
        first, seen = check.expected.split(" or ")[0], check.evidence.removeprefix("catalog: ")
        return first if seen == first else f"{seen} (the photo's other reading)"
    role = role_of(check.attribute)
    return check.expected if role in SELF_EXPLAINING else f"{check.attribute} {check.expected}"


def lacking(candidate: Candidate) -> dict[str, str]:
    """The hard constraints ``candidate`` fails, each with what it has instead (its catalog value, or
    how the guard judged it: "not listed", "image p=0.12", "no price")."""
    return lacks_of(candidate.product, candidate.checks)


def lacks_of(product: Product, checks: list[Check]) -> dict[str, str]:
    """:func:`lacking` for a product and its guard checks (a search hit is not a loop candidate)."""
    return {c.label: _instead(product, c)[0] for c in checks if c.hard and not c.ok}


def _instead(product: Product, check: Check) -> tuple[str, bool]:
    """(what the product has, whether that is a catalog value)."""
    if check.kind == "price":
        return (check.evidence, True) if check.evidence != "no price" else ("no price", False)
    if check.attribute == BRAND:
        return (product.brand, True) if product.brand else ("no brand", False)
    if check.attribute == SIZE:
        return ("/".join(product.sizes), True) if product.sizes else ("no sizes listed", False)
    values = product.attributes.get(check.attribute)
    if values:
        return "/".join(values), True
    return ("not listed" if check.evidence == "unknown" else check.evidence), False


def lacks_text(product: Product, checks: list[Check]) -> str:
    """What the failed checks lack, in words: "color=red (has blue), price <= 40 (has 55)"."""
    parts = []
    for c in checks:
        if c.hard and not c.ok:
            value, listed = _instead(product, c)
            parts.append(f"{c.label} (has {value})" if listed else f"{c.label} ({value})")
    return ", ".join(parts)


def asked_facts(checks: list[Check]) -> list[str]:
    """What the product verifiably has of what was asked ("linen", "price 39 within 40")."""
    return [_fact(c) for c in checks if c.ok and c.kind in ("set", "within", "exclude", "price")]


def near_miss(candidate: Candidate, option: int, personal: Personalization | None = None) -> ResultItem:
    """An alternative: a product that lacks some of what was asked, labelled with exactly what."""
    instead = lacking(candidate)
    return ResultItem(candidate, explain(candidate, personal), list(instead), instead, option)


def not_kept(candidate: Candidate, relaxed: Iterable[str]) -> list[str]:
    """The anchor's look attributes the loop gave up (``relaxed``) that this product does not have."""
    relaxed = set(relaxed)
    return [c.label for c in candidate.checks if c.kind == "keep" and not c.hard and c.ok is False
            and c.attribute in relaxed]


def result_item(candidate: Candidate, personal: Personalization | None = None,
                relaxed: Iterable[str] = ()) -> ResultItem:
    missing = not_kept(candidate, relaxed)
    return ResultItem(candidate, explain(candidate, personal, missing), not_kept=missing)


def explain(candidate: Candidate, personal: Personalization | None = None, unkept: list[str] | None = None) -> str:
    """The reason shown for a result; ``personal`` adds what the shopper's standing rules did to it;
    ``unkept``: the anchor's look attributes it lacks after the loop gave them up (see :func:`not_kept`)."""
    asked = asked_facts(candidate.checks)
    kept = [_kept(c) for c in candidate.checks if c.ok and c.kind in ("keep", "either")]
    parts = []
    missed = lacks_text(candidate.product, candidate.checks)
    if missed:
        parts.append("lacks " + missed)
    if asked:
        parts.append("matches " + ", ".join(asked))
    if kept:
        parts.append("keeps the anchor's " + ", ".join(kept))
    # A product that only passed after the loop gave up a kept anchor attribute says which one.
    if unkept:
        values = [label.partition("=")[2] for label in unkept]
        parts.append("not the anchor's " + ", ".join(values) + " (too few matches had it)")
    parts.append(f"look similarity {candidate.similarity:.2f}")
    if "sponsored" in candidate.boosts:
        parts.append(f"sponsored (+{candidate.boosts['sponsored']:.2f}, capped)")
    if personal is not None:
        parts += personal.notes_for(candidate)
    return "; ".join(parts)
