"""Search layer: static queries, text -> items and image -> items, with hard filters.

The first of the paper's scenarios, and the building block the refinement loop reuses.

A text query is also *understood* when the searcher has a planner (the CLI uses the rules planner by
default): "red dresses for women under 50" is grounded in the catalog's vocabulary like a refinement
request, and what it names becomes filters, so every result is red, a dress and for women. When fewer
than k products match all of it, the closest others follow, each saying what it lacks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np

from fashrec.ammr import Constraints, constraint_filter
from fashrec.catalog import Product, normalize_value
from fashrec.encoder import Encoder
from fashrec.errors import UsageError
from fashrec.index import Index
from fashrec.index.filters import Filter
from fashrec.planner import Plan, PlanContext, Planner, wanted_text

# Text queries are scored against the image vectors (cross-modal) and the item-text vectors; the
# image side dominates because titles are often terse or missing, while photos never are.
TEXT_SIDE_WEIGHT = 0.35
# With a ranking boost (profile preferences), this many more candidates than asked for are re-ranked,
# so a preferred item just below the cut can move up; boosts are small, so a few k is enough.
BOOST_POOL_FACTOR = 3
# Sorting by price orders the most relevant products, never the whole catalog: a "cheapest first" list
# of things unlike the query would be no answer. The pool is this many, or the page's end if further.
SORT_POOL = 100
SORTS = ("relevance", "price", "-price")

Boost = Callable[[Product], dict[str, float]]


@dataclass
class Hit:
    product: Product
    score: float
    boosts: dict[str, float] = field(default_factory=dict)   # ranking boosts by rule text, already in score
    notes: list[str] = field(default_factory=list)           # how it relates to what the query named
    tier: int = 0          # 0: has everything the query named; n: lacks n of those things (ranked after)

    def to_dict(self) -> dict[str, Any]:
        data = {"id": self.product.id, "score": round(float(self.score), 4), **self.product.summary()}
        why = self.notes + [f"{rule} (+{value:.2f})" for rule, value in self.boosts.items()]
        if why:
            data["why"] = "; ".join(why)
        return data


def apply_boost(hits: list[Hit], boost: Boost | None, k: int) -> list[Hit]:
    """Add each hit's boosts to its score and keep the best ``k``: full matches first, then by score."""
    for hit in hits if boost is not None else ():
        hit.boosts = boost(hit.product)
        hit.score += sum(hit.boosts.values())
    return sorted(hits, key=lambda h: (h.tier, -h.score))[:k]


def check_sort(sort: str) -> str:
    if sort not in SORTS:
        raise UsageError(f"sort must be one of {', '.join(SORTS)}, got '{sort}'")
    return sort


def price_key(price: float | None, sort: str) -> tuple[bool, float]:
    """Sort key for ``sort`` = "price" (cheapest first) or "-price" (dearest first); unpriced last."""
    if price is None:
        return (True, 0.0)
    return (False, -price if sort == "-price" else price)


def pool_size(k: int, offset: int, sort: str) -> int:
    """How many ranked products a page needs: its end, or the sorting pool."""
    return max(SORT_POOL, offset + k) if sort != "relevance" else offset + k


T = TypeVar("T")


def paged(items: list[T], k: int, offset: int, sort: str, *, price: Callable[[T], float | None],
          tier: Callable[[T], int]) -> list[T]:
    """Items ``offset`` .. ``offset + k`` in ``sort`` order. Sorting never lifts a lower tier (a near
    miss, a relaxed match) above a full match: it orders within each tier."""
    if sort != "relevance":
        items = sorted(items, key=lambda item: (tier(item), price_key(price(item), sort)))
    return items[offset:offset + k]


def page(hits: list[Hit], k: int, offset: int, sort: str) -> list[Hit]:
    return paged(hits, k, offset, sort, price=lambda h: h.product.price, tier=lambda h: h.tier)


@dataclass
class SearchResult:
    query: dict[str, Any]
    results: list[Hit]
    timing_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "results": [h.to_dict() for h in self.results],
                "timing_ms": {k: round(v, 2) for k, v in self.timing_ms.items()}}


def blended_text_search(index: Index, qvec: np.ndarray, k: int, flt: Filter | None) -> list[Hit]:
    """Pool candidates from the image and text spaces, then rank by a blend of both similarities."""
    pool = max(50, 5 * k)
    by_image = index.nearest(qvec, pool, flt=flt)
    by_text = index.nearest(qvec, pool, flt=flt, space="text")
    candidates = np.unique(np.concatenate([by_image.positions, by_text.positions]))
    if candidates.size == 0:
        return []
    scores = ((1 - TEXT_SIDE_WEIGHT) * (index.image_vectors[candidates] @ qvec)
              + TEXT_SIDE_WEIGHT * (index.text_vectors[candidates] @ qvec))
    order = np.argsort(-scores, kind="stable")[:k]
    return [Hit(product, float(scores[i])) for product, i in zip(index.products_at(candidates[order]), order)]


class Searcher:
    """Text and image search over one index with one encoder (both loaded once).

    ``planner`` (optional) grounds text queries in the catalog's vocabulary; see the module docstring.
    """

    def __init__(self, index: Index, encoder: Encoder, planner: Planner | None = None) -> None:
        self.index = index
        self.encoder = encoder
        self.planner = planner

    def understand(self, query: str) -> Plan | None:
        """What the query names (attribute values, exclusions, a price), or None without a planner."""
        if self.planner is None:
            return None
        context = PlanContext(vocabulary=self.index.vocabulary, anchor={}, previous=None,
                              currency=self.index.currency)
        return self.planner.plan(query, context)

    def text(self, query: str, *, k: int = 10, flt: Filter | None = None, boost: Boost | None = None,
             offset: int = 0, sort: str = "relevance", image: str | Path | None = None,
             understood: Plan | None = None) -> SearchResult:
        """Products matching ``query``; ``boost`` (e.g. profile preferences) re-ranks a wider pool.

        ``offset`` skips that many results (paging); ``sort`` "price" / "-price" orders the most
        relevant ones by price. With ``image``, the words say what to find and the photo how it should
        look: the query vector is the mean of both (the words are still understood into filters).
        ``understood``: the query's reading when the caller already has it (:meth:`understand`).
        """
        t0 = time.perf_counter()
        want = pool_size(k, offset, check_sort(sort))
        plan = understood if understood is not None else self.understand(query)
        flt = flt or Filter()
        # What the query refuses is filtered out, never embedded: "not striped" must not pull to stripes.
        wanted = (wanted_text(query, self.index.vocabulary) or "product") if plan is not None else query
        qvec = self.encoder.encode_texts([wanted])[0]
        if image is not None:
            qvec = _mean_direction(qvec, self.encoder.encode_images([Path(image)])[0])
        t1 = time.perf_counter()
        pool = want * BOOST_POOL_FACTOR if boost else want
        named = (constraint_filter(self.index, Constraints(plan), in_stock_only=False) if plan is not None
                 else Filter())
        if named.is_empty():
            hits = blended_text_search(self.index, qvec, pool, flt)
        else:
            hits = blended_text_search(self.index, qvec, pool, flt.merged(named))
            for hit in hits:
                hit.notes.append("matches " + ", ".join(_named(named)))
            if len(hits) < want:   # too few match everything named: the closest others follow, after them
                seen = {h.product.id for h in hits}
                # From a wide pool: a near miss (one thing lacking) beats a closer look that lacks three.
                others = [h for h in blended_text_search(self.index, qvec, max(50, 5 * pool), flt)
                          if h.product.id not in seen]
                for hit in others:   # closest = lacking the fewest named things, then most similar
                    lacking = _lacking(named, hit.product)
                    hit.tier = max(1, len(lacking))
                    hit.notes.append("closest other; lacks " + ", ".join(lacking))
                hits += others
        hits = page(apply_boost(hits, boost, want), k, offset, sort)
        t2 = time.perf_counter()
        info: dict[str, Any] = {"text": query, "k": k, "where": flt.to_dict(), "offset": offset, "sort": sort}
        if image is not None:
            info["image"] = str(image)
        if plan is not None:
            notes = list(plan.notes) + [f"{a}={v} only steers ranking: too few products list a {a}"
                                        for a, v in plan.set.items() if a not in named.include]
            notes += [f"the query asks {a}={', '.join(sorted(v))} but the filter allows only "
                      f"{', '.join(sorted(flt.include[a]))}: nothing can have both"
                      for a, v in named.include.items() if a in flt.include and not v & flt.include[a]]
            info["understood"] = {"set": dict(plan.set), "exclude": {a: list(v) for a, v in plan.exclude.items()},
                                  "price": {"min": plan.price_min, "max": plan.price_max},
                                  "brands": list(plan.brands), "exclude_brands": list(plan.exclude_brands),
                                  "sizes": list(plan.sizes), "planner": plan.source, "notes": notes}
            if wanted != query:
                info["understood"]["embedded"] = wanted
        return SearchResult(info, hits, {"encode": (t1 - t0) * 1000, "search": (t2 - t1) * 1000})

    def image(self, image: str | Path, *, k: int = 10, flt: Filter | None = None,
              boost: Boost | None = None, offset: int = 0, sort: str = "relevance") -> SearchResult:
        """Products that look like ``image``; ``boost`` re-ranks a wider pool; paging as in :meth:`text`."""
        t0 = time.perf_counter()
        want = pool_size(k, offset, check_sort(sort))
        qvec = self.encoder.encode_images([Path(image)])[0]
        t1 = time.perf_counter()
        found = self.index.nearest(qvec, want * BOOST_POOL_FACTOR if boost else want, flt=flt)
        hits = [Hit(product, float(s)) for product, s in zip(self.index.products_at(found.positions), found.scores)]
        hits = page(apply_boost(hits, boost, want), k, offset, sort)
        t2 = time.perf_counter()
        return SearchResult({"image": str(image), "k": k, "where": (flt or Filter()).to_dict(),
                             "offset": offset, "sort": sort, "method": found.method}, hits,
                            {"encode": (t1 - t0) * 1000, "search": (t2 - t1) * 1000})


def _mean_direction(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The unit vector halfway between two unit vectors (text and image queries weigh the same)."""
    mean = (np.asarray(a, np.float32) + np.asarray(b, np.float32)) / 2
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


def _named(named: Filter) -> list[str]:
    """What the filters built from a query require, as words ("red", "not black", "price <= 50")."""
    out = [v for values in named.include.values() for v in sorted(values)]
    out += [f"not {v}" for values in named.exclude.values() for v in sorted(values)]
    if named.price_min is not None:
        out.append(f"price >= {named.price_min:g}")
    if named.price_max is not None:
        out.append(f"price <= {named.price_max:g}")
    out += [f"brand {' or '.join(sorted(named.brands))}"] if named.brands else []
    out += [f"not {b}" for b in sorted(named.exclude_brands)]
    out += [f"size {' or '.join(sorted(named.sizes))}"] if named.sizes else []
    return out


def _lacking(named: Filter, product: Product) -> list[str]:
    """Which of those requirements ``product`` misses."""
    out = [" or ".join(sorted(values)) for a, values in named.include.items()
           if not values & set(product.attributes.get(a, ()))]
    out += [f"not {v}" for a, values in named.exclude.items() for v in sorted(values & set(product.attributes.get(a, ())))]
    price = product.price
    if (named.price_min is not None or named.price_max is not None) and (
            price is None or (named.price_min is not None and price < named.price_min)
            or (named.price_max is not None and price > named.price_max)):
        out.append("the price" if price is not None else "a price")
    brand = normalize_value(product.brand) if product.brand else None
    if named.brands and brand not in named.brands:
        out.append(f"brand {' or '.join(sorted(named.brands))}")
    if brand is not None and brand in named.exclude_brands:
        out.append(f"not {brand}")
    if named.sizes and not named.sizes & {normalize_value(s) for s in product.sizes}:
        out.append(f"size {' or '.join(sorted(named.sizes))}")
    return out
