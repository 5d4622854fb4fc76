"""Search layer: static queries, text -> items and image -> items, with hard filters.

The first of the paper's scenarios, and the building block the refinement loop reuses.

A text query is also *understood* when the searcher has a planner (the CLI uses the rules planner by
default): "red dresses for women under 50" is grounded in the catalog's vocabulary like a refinement
request, and what it names becomes constraints, treated as refine treats them (:mod:`fashrec.ammr`):
filtered on the catalog's metadata where (almost) every product lists the attribute, verified by the
attribute guard on each candidate (the photo, zero-shot, where the metadata is missing), out-of-stock
products left out unless the query welcomes them. ``results`` hold only products that satisfy all of
it. When fewer than k do, the answer says so ("only 3 red linen shirts"), counts what giving up each
constraint would yield, and lists labelled near misses apart, in ``alternatives``, each naming what it
lacks (:mod:`fashrec.ammr.shortfall`, :mod:`fashrec.ammr.alternatives`); ``alternatives=False``
(``--strict``) lists none.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np

from fashrec.ammr import Check, Constraints, Option, Shortfall, constraint_filter
from fashrec.ammr.alternatives import draw_alternatives, lacks_only_what_option_frees
from fashrec.ammr.anchor import understand_anchor
from fashrec.ammr.explain import asked_facts, lacks_of, lacks_text
from fashrec.ammr.guard import check_product, passes
from fashrec.ammr.retrieve import FILTERABLE_COVERAGE
from fashrec.ammr.shortfall import Counts, shortfall, without
from fashrec.catalog import Product
from fashrec.catalog.roles import role_of
from fashrec.encoder import Encoder
from fashrec.encoder.prompts import AttributePrompts
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
# When the guard turns candidates down (an attribute checked on the photo), the pool widens this many
# times, by WIDEN_FACTOR each, before the answer settles for fewer verified matches.
WIDENINGS = 2
WIDEN_FACTOR = 4
# What `search --image` says it read from the photo (it filters on none of it).
PHOTO_ROLES = ("category", "color", "gender")

Boost = Callable[[Product], dict[str, float]]


@dataclass
class Hit:
    product: Product
    score: float
    boosts: dict[str, float] = field(default_factory=dict)   # ranking boosts by rule text, already in score
    notes: list[str] = field(default_factory=list)           # how it relates to what the query named
    # For an understood query: the guard's checks (every hard one passed, for a result).
    checks: list[Check] = field(default_factory=list)
    # Only for an alternative (a near miss): the constraints it lacks -> what it has instead, and the
    # number of the shortfall option it illustrates.
    lacks: dict[str, str] | None = None
    option: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"id": self.product.id, "score": round(float(self.score), 4), **self.product.summary()}
        if self.checks:     # the field names of refine's rows (fashrec.ammr.types.ResultItem)
            data.update({"satisfied": [c.label for c in self.checks if c.ok and c.hard],
                         "violated": [c.label for c in self.checks if not c.ok and c.hard],
                         "checks": [c.to_dict() for c in self.checks]})
        why = self.notes + [f"{rule} (+{value:.2f})" for rule, value in self.boosts.items()]
        if why:
            data["why"] = "; ".join(why)
        if self.lacks is not None:
            data.update({"lacks": list(self.lacks), "instead": dict(self.lacks), "option": self.option})
        return data


def apply_boost(hits: list[Hit], boost: Boost | None, k: int) -> list[Hit]:
    """Add each hit's boosts to its score and keep the best ``k`` by score."""
    for hit in hits if boost is not None else ():
        hit.boosts = boost(hit.product)
        hit.score += sum(hit.boosts.values())
    return sorted(hits, key=lambda h: -h.score)[:k]


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
    """One page of the exact matches, then the alternatives (each list in ``sort`` order)."""
    return paged(hits, k, offset, sort, price=lambda h: h.product.price, tier=lambda h: h.lacks is not None)


@dataclass
class SearchResult:
    query: dict[str, Any]
    results: list[Hit]
    timing_ms: dict[str, float] = field(default_factory=dict)
    # An understood query with fewer than offset + k exact matches: the shortfall, and near misses apart.
    shortfall: Shortfall | None = None
    alternatives: list[Hit] = field(default_factory=list)
    plan: Plan | None = None      # how the query was understood (None: similarity alone)

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "results": [h.to_dict() for h in self.results],
                "shortfall": self.shortfall.to_dict() if self.shortfall else None,
                "alternatives": [h.to_dict() for h in self.alternatives],
                "timing_ms": {k: round(v, 2) for k, v in self.timing_ms.items()}}


def blended(index: Index, qvec: np.ndarray, pool: int, flt: Filter | None) -> tuple[np.ndarray, np.ndarray]:
    """(positions, scores), best first: the top ``pool`` of the image space and of the text space,
    ranked by a blend of both similarities."""
    by_image = index.nearest(qvec, pool, flt=flt)
    by_text = index.nearest(qvec, pool, flt=flt, space="text")
    candidates = np.unique(np.concatenate([by_image.positions, by_text.positions]))
    if candidates.size == 0:
        return candidates, np.zeros(0, np.float32)
    scores = ((1 - TEXT_SIDE_WEIGHT) * (index.image_vectors[candidates] @ qvec)
              + TEXT_SIDE_WEIGHT * (index.text_vectors[candidates] @ qvec))
    order = np.argsort(-scores, kind="stable")
    return candidates[order], scores[order]


def blended_text_search(index: Index, qvec: np.ndarray, k: int, flt: Filter | None) -> list[Hit]:
    """The ``k`` best products by the blended score, from pools of max(50, 5 k) in each space."""
    positions, scores = blended(index, qvec, max(50, 5 * k), flt)
    return [Hit(p, float(s)) for p, s in zip(index.products_at(positions[:k]), scores[:k])]


@dataclass
class _Asked:
    """One understood query: its constraints, the caller's filter (--where, the profile) and stock rule."""

    constraints: Constraints
    flt: Filter
    in_stock_only: bool
    qvec: np.ndarray
    boost: Boost | None


class Searcher:
    """Text and image search over one index with one encoder (both loaded once).

    ``planner`` (optional) grounds text queries in the catalog's vocabulary; see the module docstring.
    """

    def __init__(self, index: Index, encoder: Encoder, planner: Planner | None = None) -> None:
        self.index = index
        self.encoder = encoder
        self.planner = planner
        self.prompts = AttributePrompts(index, encoder)   # the guard's photo checks, built on first use

    def understand(self, query: str) -> Plan | None:
        """What the query names (attribute values, exclusions, a price), or None without a planner."""
        if self.planner is None:
            return None
        context = PlanContext(vocabulary=self.index.vocabulary, anchor={}, previous=None,
                              currency=self.index.currency)
        return self.planner.plan(query, context)

    def text(self, query: str, *, k: int = 10, flt: Filter | None = None, boost: Boost | None = None,
             offset: int = 0, sort: str = "relevance", image: str | Path | None = None,
             understood: Plan | None = None, alternatives: bool = True) -> SearchResult:
        """Products matching ``query``; ``boost`` (e.g. profile preferences) re-ranks a wider pool.

        ``offset`` skips that many results (paging); ``sort`` "price" / "-price" orders the most
        relevant ones by price. With ``image``, the words say what to find and the photo how it should
        look: the query vector is the mean of both (the words are still understood into filters).
        ``understood``: the query's reading when the caller already has it (:meth:`understand`).
        ``alternatives=False`` (--strict): a short answer lists no near misses.
        """
        t0 = time.perf_counter()
        want = pool_size(k, offset, check_sort(sort))
        plan = understood if understood is not None else self.understand(query)
        flt = flt or Filter()
        # What the query refuses is filtered out, never embedded: "not striped" must not pull to stripes.
        wanted = (wanted_text(query, self.index.vocabulary) or "product") if plan is not None else query
        qvec = self.encoder.encode_texts([wanted])[0]
        photo = None
        if image is not None:
            photo = self.encoder.encode_images([Path(image)])[0]
            qvec = _mean_direction(qvec, photo)
        t1 = time.perf_counter()
        short, others = None, []
        if plan is None:
            hits = apply_boost(blended_text_search(self.index, qvec, want * BOOST_POOL_FACTOR if boost else want,
                                                   flt), boost, want)
        else:
            asked = _Asked(Constraints(plan), flt, not plan.include_out_of_stock, qvec, boost)
            hits, short, others = self._honest(asked, want, offset + k, alternatives)
        shown = page(hits + others, k, offset, sort)
        t2 = time.perf_counter()
        info: dict[str, Any] = {"text": query, "k": k, "where": flt.to_dict(), "offset": offset, "sort": sort}
        timing = {"encode": (t1 - t0) * 1000, "search": (t2 - t1) * 1000}
        if photo is not None:
            info["image"] = str(image)
            info["photo"] = self.photo_reading(photo, image)
            timing["photo"] = (time.perf_counter() - t2) * 1000
        if plan is not None:
            info["understood"] = self._understood(plan, flt, wanted if wanted != query else None)
            info["strict"] = not alternatives
        return SearchResult(info, [h for h in shown if h.lacks is None], timing, short,
                            [h for h in shown if h.lacks is not None], plan)

    def photo_reading(self, vector: np.ndarray, image: str | Path) -> dict[str, Any]:
        """What a search's photo shows (category, colour, gender, read as refine reads an anchor, with
        confidence), said beside an answer it only ranked: the words say what to find and are the only
        filters; the photo says how it should look."""
        anchor = understand_anchor(self.index, vector, self.prompts, image=image)
        read = {a: g.to_dict() for a, g in anchor.attributes.items() if role_of(a) in PHOTO_ROLES}
        return {"attributes": read, "catalog_id": anchor.catalog_id, "filtered": False,
                "note": "read from the photo, not filtered on: it ranks the results by look; only the words filter"}

    def _honest(self, asked: _Asked, want: int, needed: int,
                alternatives: bool) -> tuple[list[Hit], Shortfall | None, list[Hit]]:
        """(exact matches, best first, up to ``want``; the shortfall when fewer than ``needed``; near
        misses to fill the rest)."""
        c = asked.constraints
        named = constraint_filter(self.index, c, in_stock_only=asked.in_stock_only)
        pool = want * BOOST_POOL_FACTOR if asked.boost else want
        exact = apply_boost(self._verified(asked, asked.flt.merged(named), pool), asked.boost, want)
        if len(exact) >= needed:
            return exact, None, []
        counts = Counts.for_request(self.index, in_stock_only=asked.in_stock_only, exclude_ids=asked.flt.exclude_ids,
                                    base=asked.flt)
        short = shortfall(counts, c, len(exact), needed, alternatives=alternatives)
        limits = _filter_words(asked.flt)
        if limits:     # --where narrows every count too: the message says so
            short = replace(short, message=f"{short.message} within the filter ({limits})")
        if not alternatives:
            return exact, short, []
        others = draw_alternatives(short.options, counts.count(c), needed - len(exact), {h.product.id for h in exact},
                                   lambda option, need, answered: self._near_misses(asked, option, need, answered),
                                   product_id=lambda h: h.product.id)
        return exact, short, others

    def _verified(self, asked: _Asked, flt: Filter, want: int) -> list[Hit]:
        """Up to ``want`` products under ``flt`` that pass every guard check, best first; the pool widens
        while the guard turns candidates down and more are left."""
        def accept(product: Product, position: int, score: float) -> Hit | None:
            checks = check_product(product, self.index.image_vectors[position], asked.constraints, self.prompts)
            return Hit(product, score, notes=_matches(checks), checks=checks) if passes(checks) else None

        fetch = max(50, 5 * want)
        for _ in range(WIDENINGS + 1):
            positions, scores = blended(self.index, asked.qvec, fetch, flt)
            hits, read = self._first_accepted(positions, scores, want, accept)
            if len(hits) >= want or read == len(hits) or len(positions) < fetch:
                break       # enough, none turned down, or nothing more to fetch
            fetch *= WIDEN_FACTOR
        return hits

    def _near_misses(self, asked: _Asked, option: Option, need: int, answered: set[str]) -> list[Hit]:
        """Up to ``need`` products that satisfy everything except what ``option`` gives up, each naming
        what it lacks."""
        def accept(product: Product, position: int, score: float) -> Hit | None:
            checks = lacks_only_what_option_frees(product, self.index.image_vectors[position], asked.constraints,
                                                  option, self.prompts)
            if checks is None:
                return None
            return Hit(product, score, notes=["lacks " + lacks_text(product, checks)] + _matches(checks),
                       checks=checks, lacks=lacks_of(product, checks), option=option.number)

        relaxed = without(asked.constraints, option.relax)
        flt = constraint_filter(self.index, relaxed, in_stock_only=asked.in_stock_only).merged(asked.flt)
        flt = flt.merged(Filter(exclude_ids=set(answered)))
        pool = need * BOOST_POOL_FACTOR if asked.boost else need
        positions, scores = blended(self.index, asked.qvec, max(50, 5 * pool), flt)
        return apply_boost(self._first_accepted(positions, scores, pool, accept)[0], asked.boost, need)

    def _first_accepted(self, positions: np.ndarray, scores: np.ndarray, want: int,
                        accept: Callable[[Product, int, float], Hit | None]) -> tuple[list[Hit], int]:
        """(the first ``want`` candidates, in order, that ``accept`` makes a hit of; how many were read).
        Products are read only as far as needed: most candidates pass, and reading one costs more than
        ranking it."""
        hits: list[Hit] = []
        read = 0
        while len(hits) < want and read < len(positions):
            chunk = positions[read:read + want - len(hits)]
            for product, position, score in zip(self.index.products_at(chunk), chunk, scores[read:read + len(chunk)]):
                hit = accept(product, int(position), float(score))
                if hit is not None:
                    hits.append(hit)
            read += len(chunk)
        return hits, read

    def _understood(self, plan: Plan, flt: Filter, embedded: str | None) -> dict[str, Any]:
        """The query's reading as the answer shows it, with a note for each thing worth knowing."""
        notes = list(plan.notes) + [f"{a}={v} is checked on the photo where the catalog lists no {a} (only "
                                    f"{self.index.coverage(a):.0%} of products do)"
                                    for a, v in plan.set.items() if self.index.coverage(a) < FILTERABLE_COVERAGE]
        notes += [f"the query asks {a}={v} but the filter allows only {', '.join(sorted(flt.include[a]))}: "
                  "nothing can have both" for a, v in plan.set.items() if a in flt.include and v not in flt.include[a]]
        data: dict[str, Any] = {
            "set": dict(plan.set), "exclude": {a: list(v) for a, v in plan.exclude.items()},
            "price": {"min": plan.price_min, "max": plan.price_max}, "brands": list(plan.brands),
            "exclude_brands": list(plan.exclude_brands), "sizes": list(plan.sizes),
            "include_out_of_stock": plan.include_out_of_stock, "planner": plan.source, "notes": notes}
        if embedded is not None:
            data["embedded"] = embedded
        return data

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


def _filter_words(flt: Filter) -> str:
    """A caller's filter in words ("color=red, price <= 50"); the profile's hidden ids are not named."""
    words = [f"{a}={'/'.join(sorted(v))}" for a, v in flt.include.items()]
    words += [f"{a} not {'/'.join(sorted(v))}" for a, v in flt.exclude.items()]
    words += [f"price >= {flt.price_min:g}"] if flt.price_min is not None else []
    words += [f"price <= {flt.price_max:g}"] if flt.price_max is not None else []
    words += [f"brand={'/'.join(sorted(flt.brands))}"] if flt.brands else []
    words += [f"brand not {'/'.join(sorted(flt.exclude_brands))}"] if flt.exclude_brands else []
    words += [f"size={'/'.join(sorted(flt.sizes))}"] if flt.sizes else []
    return ", ".join(words)


def _matches(checks: list[Check]) -> list[str]:
    facts = asked_facts(checks)
    return ["matches " + ", ".join(facts)] if facts else []


def _mean_direction(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The unit vector halfway between two unit vectors (text and image queries weigh the same)."""
    mean = (np.asarray(a, np.float32) + np.asarray(b, np.float32)) / 2
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
