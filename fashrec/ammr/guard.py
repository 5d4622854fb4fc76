"""AMMR stage 5, the attribute guard: verify every candidate against every constraint.

Catalog metadata is the evidence where the product has the attribute; otherwise the product image is
checked zero-shot against the attribute's prompts. Each check records what was verified and how, and
only verified facts ever reach an explanation.
"""

from __future__ import annotations

import numpy as np

from fashrec.ammr.types import Check, Constraints
from fashrec.catalog import Product, normalize_value
from fashrec.encoder.prompts import AttributePrompts
from fashrec.planner import Plan
from fashrec.planner.plan import BRAND, SIZE

# A zero-shot check passes when the wanted value is the most likely one and at least this likely.
ZERO_SHOT_MIN = 0.3


def _value_check(product: Product, vector: np.ndarray, attr: str, value: str,
                 prompts: AttributePrompts | None) -> tuple[bool | None, str]:
    """Does the product have ``value``? (None: no evidence either way)."""
    ok, evidence, _ = _evidence(product, vector, attr, {value}, prompts)
    return ok, evidence


def _within_check(product: Product, vector: np.ndarray, attr: str, allowed: list[str],
                  prompts: AttributePrompts | None) -> tuple[bool, str]:
    """Does the product have one of ``allowed`` (a resolved relative wish)? The evidence names which."""
    ok, evidence, seen = _evidence(product, vector, attr, set(allowed), prompts)
    if evidence == "catalog" and ok:
        return True, f"catalog: {seen}"
    if evidence.startswith("image"):
        evidence = f"image looks {seen} {evidence.removeprefix('image ')}"
    return bool(ok), evidence


def _evidence(product: Product, vector: np.ndarray, attr: str, wanted: set[str],
              prompts: AttributePrompts | None) -> tuple[bool | None, str, str | None]:
    """(verdict, evidence, the value seen): catalog metadata first, else the image, zero-shot.

    The image is only read for attributes the product's category has in this catalog.
    """
    values = product.attributes.get(attr)
    if values:
        hit = next((v for v in values if v in wanted), None)
        return hit is not None, "catalog", hit or values[0]
    if prompts is not None and not prompts.applies(attr, product):
        return False, f"no {attr} for this category", None
    probs = prompts.probabilities(attr, vector) if prompts else {}
    if not probs:
        return None, "unknown", None
    best = max(probs, key=probs.get)
    # One wanted value: report its own probability; several: the probability of what the image shows.
    p = probs.get(next(iter(wanted)), 0.0) if len(wanted) == 1 else probs[best]
    return best in wanted and probs[best] >= ZERO_SHOT_MIN, f"image p={p:.2f}", best


def price_expectation(price_min: float | None, price_max: float | None) -> str:
    """How a price check names its range: ">= 20 <= 40"."""
    return " ".join(s for s in (f">= {price_min:g}" if price_min is not None else "",
                                 f"<= {price_max:g}" if price_max is not None else "") if s)


def check_product(product: Product, vector: np.ndarray, constraints: Constraints,
                  prompts: AttributePrompts | None) -> list[Check]:
    """One check per constraint, in a fixed order: set, within, exclude, price, kept, read either way,
    softly kept."""
    plan, relative = constraints.plan, constraints.relative
    checks: list[Check] = []
    for attr, value in plan.set.items():
        ok, evidence = _value_check(product, vector, attr, value, prompts)
        checks.append(Check("set", attr, value, bool(ok), evidence))
    for attr, allowed in relative.within.items():
        ok, evidence = _within_check(product, vector, attr, allowed, prompts)
        checks.append(Check("within", attr, "in " + "/".join(allowed), ok, evidence))
    for attr, banned in plan.exclude.items():
        values = product.attributes.get(attr)
        if values:
            ok, evidence = not set(banned) & set(values), "catalog"
        else:
            probs = prompts.probabilities(attr, vector) if prompts else {}
            top = max(probs, key=probs.get) if probs else None
            ok, evidence = top not in banned, (f"image looks {top}" if top else "unknown")
        checks.append(Check("exclude", attr, "not " + "/".join(banned), ok, evidence))
    price_min, price_max = constraints.price_range
    if price_min is not None or price_max is not None:
        expected = price_expectation(price_min, price_max)
        if product.price is None:
            checks.append(Check("price", "price", expected, False, "no price"))
        else:
            ok = ((price_min is None or product.price >= price_min)
                  and (price_max is None or product.price <= price_max))
            checks.append(Check("price", "price", expected, ok, f"{product.price:g}"))
    checks += _field_checks(product, plan)
    for attr, value in constraints.hard.items():
        ok, evidence = _value_check(product, vector, attr, value, prompts)
        checks.append(Check("keep", attr, value, bool(ok), evidence))
    for attr, readings in constraints.either.items():
        if attr not in constraints.hard:    # widened: either reading of the photo will do
            ok, evidence = _within_check(product, vector, attr, list(readings), prompts)
            checks.append(Check("either", attr, " or ".join(readings), ok, evidence))
    for attr, value in constraints.soft.items():
        ok, evidence = _value_check(product, vector, attr, value, None)
        if ok is not None:
            checks.append(Check("keep", attr, value, bool(ok), evidence, hard=False))
    return checks


def _field_checks(product: Product, plan: Plan) -> list[Check]:
    """Brands and sizes asked for or refused: the catalog's own fields are the only evidence."""
    checks = []
    brand = normalize_value(product.brand) if product.brand else None
    if plan.brands:
        checks.append(Check("set", BRAND, "/".join(plan.brands), brand in plan.brands,
                            "catalog" if brand else "no brand"))
    if plan.exclude_brands:
        checks.append(Check("exclude", BRAND, "not " + "/".join(plan.exclude_brands),
                            brand not in plan.exclude_brands, "catalog" if brand else "no brand"))
    if plan.sizes:
        offered = {normalize_value(s) for s in product.sizes}
        checks.append(Check("set", SIZE, "/".join(plan.sizes), bool(offered & set(plan.sizes)),
                            "catalog" if offered else "no sizes listed"))
    return checks


def passes(checks: list[Check]) -> bool:
    return all(c.ok for c in checks if c.hard)
