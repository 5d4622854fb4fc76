"""Static queries: text -> items and image -> items, with hard filters.

The first of the paper's scenarios, and the building block the refinement loop reuses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .catalog import Product
from .encoder import Encoder
from .filters import Filter
from .index import Index

# Text queries are scored against the image vectors (cross-modal) and the item-text vectors; the
# image side dominates because titles are often terse or missing, while photos never are.
TEXT_SIDE_WEIGHT = 0.35
# With a ranking boost (profile preferences), this many more candidates than asked for are re-ranked,
# so a preferred item just below the cut can move up; boosts are small, so a few k is enough.
BOOST_POOL_FACTOR = 3

Boost = Callable[[Product], dict[str, float]]


@dataclass
class Hit:
    product: Product
    score: float
    boosts: dict[str, float] = field(default_factory=dict)   # ranking boosts by rule text, already in score

    def to_dict(self) -> dict[str, Any]:
        p = self.product
        data = {
            "id": p.id, "score": round(float(self.score), 4), "title": p.title, "image": str(p.image_path),
            "attributes": {k: (v[0] if len(v) == 1 else v) for k, v in p.attributes.items()},
            "brand": p.brand, "price": p.price, "currency": p.currency, "in_stock": p.in_stock,
        }
        if self.boosts:
            data["why"] = "; ".join(f"{rule} (+{value:.2f})" for rule, value in self.boosts.items())
        return data


def apply_boost(hits: list[Hit], boost: Boost | None, k: int) -> list[Hit]:
    """Add each hit's boosts to its score and keep the best ``k`` (stable for equal scores)."""
    if boost is None:
        return hits[:k]
    for hit in hits:
        hit.boosts = boost(hit.product)
        hit.score += sum(hit.boosts.values())
    return sorted(hits, key=lambda h: -h.score)[:k]


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
    return [Hit(index.products[int(candidates[i])], float(scores[i])) for i in order]


class Searcher:
    """Text and image search over one index with one encoder (both loaded once)."""

    def __init__(self, index: Index, encoder: Encoder) -> None:
        self.index = index
        self.encoder = encoder

    def text(self, query: str, *, k: int = 10, flt: Filter | None = None, boost: Boost | None = None) -> SearchResult:
        """Products matching ``query``; ``boost`` (e.g. profile preferences) re-ranks a wider pool."""
        t0 = time.perf_counter()
        qvec = self.encoder.encode_texts([query])[0]
        t1 = time.perf_counter()
        hits = blended_text_search(self.index, qvec, k * BOOST_POOL_FACTOR if boost else k, flt)
        hits = apply_boost(hits, boost, k)
        t2 = time.perf_counter()
        return SearchResult({"text": query, "k": k, "where": (flt or Filter()).to_dict()}, hits,
                            {"encode": (t1 - t0) * 1000, "search": (t2 - t1) * 1000})

    def image(self, image: str | Path, *, k: int = 10, flt: Filter | None = None,
              boost: Boost | None = None) -> SearchResult:
        """Products that look like ``image``; ``boost`` re-ranks a wider pool."""
        t0 = time.perf_counter()
        qvec = self.encoder.encode_images([Path(image)])[0]
        t1 = time.perf_counter()
        found = self.index.nearest(qvec, k * BOOST_POOL_FACTOR if boost else k, flt=flt)
        hits = [Hit(self.index.products[int(p)], float(s)) for p, s in zip(found.positions, found.scores)]
        hits = apply_boost(hits, boost, k)
        t2 = time.perf_counter()
        return SearchResult({"image": str(image), "k": k, "where": (flt or Filter()).to_dict(),
                             "method": found.method}, hits,
                            {"encode": (t1 - t0) * 1000, "search": (t2 - t1) * 1000})
