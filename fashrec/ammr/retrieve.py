"""Stage 4, dynamic retrieval: filtered nearest-neighbour search that widens when it must.

Hard constraints become index filters only for attributes (almost) every product has; for sparse
attributes a filter would silently drop products that simply lack the metadata, so those are left to
the attribute guard's image check instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fashrec.ammr.guard import Check
from fashrec.ammr.relative import Resolution, effective_price
from fashrec.catalog import Product
from fashrec.index import Index
from fashrec.index.filters import Filter
from fashrec.planner import Plan

# An attribute is filtered at retrieval time only if at least this share of products carry it.
FILTERABLE_COVERAGE = 0.95


@dataclass
class Candidate:
    product: Product
    position: int
    similarity: float
    score: float = 0.0
    tier: int = 1  # 1 = passed with every anchor keep; higher = only after relaxing some
    checks: list[Check] = field(default_factory=list)
    boosts: dict[str, float] = field(default_factory=dict)


def plan_filter(index: Index, plan: Plan, keeps: dict[str, str], *, in_stock_only: bool,
                relative: Resolution | None = None) -> Filter:
    coverage_of = index.coverage
    price_min, price_max = effective_price(plan, relative)
    flt = Filter(price_min=price_min, price_max=price_max, in_stock_only=in_stock_only)
    wanted = {a: {v} for a, v in {**keeps, **plan.set}.items()}
    wanted.update({a: set(v) for a, v in (relative.within if relative else {}).items()})
    for attr, values in wanted.items():
        if coverage_of(attr) >= FILTERABLE_COVERAGE:
            flt.include[attr] = values
    for attr, banned in plan.exclude.items():
        flt.exclude[attr] = set(banned)  # missing metadata never matches an exclusion: safe to filter
    return flt


def retrieve(index: Index, query: np.ndarray, pool: int, flt: Filter, *, ef: int | None = None,
             exclude_ids: set[str] | None = None) -> tuple[list[Candidate], int]:
    """Top ``pool`` candidates under ``flt``; also returns how many products the filter allows."""
    if exclude_ids:
        flt = Filter(flt.include, flt.exclude, flt.price_min, flt.price_max, flt.in_stock_only,
                     flt.exclude_ids | exclude_ids)
    mask = index.mask(flt)
    allowed = int(mask.sum()) if mask is not None else len(index)
    found = index.nearest(query, pool, flt=flt, ef=ef)
    return [Candidate(index.products[int(p)], int(p), float(s))
            for p, s in zip(found.positions, found.scores)], allowed
