"""Evaluation layer: whether an answer is honest, checked from the catalog's metadata alone.

An answer's ``results`` may hold only products that satisfy every stated constraint and the anchor's
identity (its category and gender, when read with confidence, or one of its two readings when the
photo was read between two: "sports shoes or casual shoes"); anything else belongs in
``alternatives``, labelled. These checks do not trust the answer's own guard: each result is compared
with the request's final plan and the anchor's guesses, value by value. A product that lacks the
metadata cannot be judged from it and is not counted as a violation (the real catalog lists every
identity attribute for every product).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from fashrec.ammr import KEEP_CONFIDENCE, RefineResult, Resolution
from fashrec.ammr.constraints import IDENTITY_CONFIDENCE, identity_readings
from fashrec.catalog import Product, normalize_value
from fashrec.catalog.roles import is_identity
from fashrec.planner import Plan
from fashrec.search import SearchResult


@dataclass
class Honesty:
    """One answer: its result rows that break a promise, and whether a short answer said so."""

    rows: int
    violations: list[tuple[str, str]]   # (product id, the constraint it breaks)
    short: bool                         # fewer results than asked for
    declared: bool                      # a shortfall was stated
    # Rows that have the second of two readings of the anchor's identity (kept as either, and said).
    other_reading: int = 0

    @property
    def undeclared(self) -> bool:
        return self.short and not self.declared


def answer_honesty(result: RefineResult, *, keep_confidence: float = KEEP_CONFIDENCE,
                   identity_confidence: float = IDENTITY_CONFIDENCE) -> Honesty:
    promised = promises(result, keep_confidence, identity_confidence)
    violations = [(item.candidate.product.id, label) for item in result.results
                  for label, ok in promised if ok(item.candidate.product) is False]
    short = len(result.results) < int(result.query.get("k") or 0)
    return Honesty(len(result.results), violations, short, result.shortfall is not None,
                   other_reading_rows(result, keep_confidence))


def other_reading_rows(result: RefineResult, keep_confidence: float = KEEP_CONFIDENCE) -> int:
    """Result rows whose category or gender is the photo's second reading, not its likeliest."""
    touched = set(result.plan.set) | set(result.plan.exclude) | set(result.plan.drop)
    pairs = {a: r[1:] for a, g in result.anchor.attributes.items() if a not in touched and a not in result.plan.keep
             and len(r := identity_readings(a, g, keep_confidence=keep_confidence)) > 1}
    return sum(1 for item in result.results
               if any(set(item.candidate.product.attributes.get(a, ())) & set(others) for a, others in pairs.items()))


def promises(result: RefineResult, keep_confidence: float = KEEP_CONFIDENCE,
             identity_confidence: float = IDENTITY_CONFIDENCE) -> list[tuple[str, Callable]]:
    """(label, check) for everything every result must have: the plan's values, exclusions, relative
    wishes and price, the attributes the shopper asked to keep, and the anchor's confident identity.
    A check returns None when the product's metadata cannot tell."""
    plan, relative, anchor = result.plan, result.relative, result.anchor
    out = stated_promises(plan, relative)
    touched = set(plan.set) | set(plan.exclude) | set(plan.drop) | set(relative.within if relative else ())
    for attr, guess in anchor.attributes.items():
        if attr in touched or guess.confidence < keep_confidence:
            continue
        readings = identity_readings(attr, guess, keep_confidence=keep_confidence)
        if attr in plan.keep or (len(readings) == 1 and is_identity(attr) and guess.confidence >= identity_confidence):
            out.append((f"{attr}={guess.value}", _has(attr, {guess.value})))
        elif len(readings) > 1:     # read between two values: the answer keeps either (and says so)
            out.append((f"{attr}={' or '.join(readings)}", _has(attr, set(readings))))
    return out


def search_honesty(result: SearchResult) -> Honesty:
    """:func:`answer_honesty` for a text search: its results against how the query was understood,
    and, unless the query welcomed them, against being out of stock."""
    plan = result.plan
    promised = stated_promises(plan) if plan is not None else []
    if plan is not None and not plan.include_out_of_stock:
        promised.append(("in stock", lambda p: p.in_stock is not False))
    violations = [(hit.product.id, label) for hit in result.results for label, ok in promised
                  if ok(hit.product) is False]
    short = plan is not None and len(result.results) < int(result.query.get("k") or 0)
    return Honesty(len(result.results), violations, short, result.shortfall is not None)


def stated_promises(plan: Plan, relative: Resolution | None = None) -> list[tuple[str, Callable]]:
    """(label, check) for what the words said: the plan's values, exclusions, brands, sizes, relative
    wishes and price."""
    out: list[tuple[str, Callable]] = []
    for attr, value in plan.set.items():
        out.append((f"{attr}={value}", _has(attr, {value})))
    for attr, banned in plan.exclude.items():
        out.append((f"{attr} not {'/'.join(banned)}", _lacks(attr, set(banned))))
    for attr, allowed in (relative.within.items() if relative else ()):
        out.append((f"{attr} in {'/'.join(allowed)}", _has(attr, set(allowed))))
    if plan.brands:
        out.append((f"brand={'/'.join(plan.brands)}", _brand(set(plan.brands), True)))
    if plan.exclude_brands:
        out.append((f"brand not {'/'.join(plan.exclude_brands)}", _brand(set(plan.exclude_brands), False)))
    if plan.sizes:
        out.append((f"size={'/'.join(plan.sizes)}", _sized(set(plan.sizes))))
    low = [p for p in (plan.price_min, relative.price_min if relative else None) if p is not None]
    high = [p for p in (plan.price_max, relative.price_max if relative else None) if p is not None]
    if low or high:
        out.append(("price", _priced(max(low) if low else None, min(high) if high else None)))
    return out


def _has(attr: str, wanted: set[str]):
    def check(p: Product) -> bool | None:
        values = p.attributes.get(attr)
        return None if not values else bool(wanted & set(values))
    return check


def _lacks(attr: str, banned: set[str]):
    def check(p: Product) -> bool | None:
        values = p.attributes.get(attr)
        return None if not values else not banned & set(values)
    return check


def _priced(low: float | None, high: float | None):
    def check(p: Product) -> bool:
        return p.price is not None and (low is None or p.price >= low) and (high is None or p.price <= high)
    return check


def _brand(brands: set[str], wanted: bool):
    def check(p: Product) -> bool | None:
        if not p.brand:
            return None
        return (normalize_value(p.brand) in brands) == wanted
    return check


def _sized(sizes: set[str]):
    def check(p: Product) -> bool | None:
        return None if not p.sizes else bool(sizes & {normalize_value(s) for s in p.sizes})
    return check
