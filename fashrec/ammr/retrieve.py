"""AMMR stage 4, dynamic retrieval: filtered nearest-neighbour search that widens when it must.

Hard constraints become index filters only for attributes (almost) every product has; for sparse
attributes a filter would silently drop products that simply lack the metadata, so those are left to
the attribute guard's image check instead.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from fashrec.ammr.types import Candidate, Constraints
from fashrec.index import Index
from fashrec.index.filters import Filter

# An attribute is filtered at retrieval time only if at least this share of products carry it.
FILTERABLE_COVERAGE = 0.95


def constraint_filter(index: Index, constraints: Constraints, *, in_stock_only: bool) -> Filter:
    """The index filter for what ``constraints`` require of every result."""
    plan = constraints.plan
    price_min, price_max = constraints.price_range
    flt = Filter(price_min=price_min, price_max=price_max, in_stock_only=in_stock_only)
    for attr, values in constraints.wanted().items():
        if index.coverage(attr) >= FILTERABLE_COVERAGE:
            flt.include[attr] = values
    for attr, banned in plan.exclude.items():
        flt.exclude[attr] = set(banned)  # missing metadata never matches an exclusion: safe to filter
    flt.brands, flt.exclude_brands, flt.sizes = set(plan.brands), set(plan.exclude_brands), set(plan.sizes)
    return flt


def retrieve(index: Index, query: np.ndarray, pool: int, flt: Filter, *, ef: int | None = None,
             exclude_ids: set[str] | None = None) -> tuple[list[Candidate], int]:
    """Top ``pool`` candidates under ``flt``; also returns how many products the filter allows."""
    if exclude_ids:
        flt = replace(flt, exclude_ids=flt.exclude_ids | exclude_ids)
    mask = index.mask(flt)
    allowed = int(mask.sum()) if mask is not None else len(index)
    found = index.nearest(query, pool, flt=flt, ef=ef)
    return [Candidate(product, int(p), float(s))
            for product, p, s in zip(index.products_at(found.positions), found.positions, found.scores)], allowed
