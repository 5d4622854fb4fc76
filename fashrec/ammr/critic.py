"""AMMR stage 6, the critic: the stakeholder rules applied to guarded candidates.

- stock: out-of-stock items are dropped unless the shopper accepts them;
- budget: the profile's budget is a hard cap (a plan's price range is checked by the guard);
- near-duplicates: an item almost identical in look to one already chosen waits until the other
  matches run out: a page with room shows it, so a short answer lists every exact match it counts;
- diversity: maximal marginal relevance with a per-brand cap, so no brand floods the page;
- sponsorship: a sponsored item may be lifted, but never by more than ``sponsored_cap``.
Every rule can be switched off; each decision is counted in the step trace.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from fashrec.ammr.types import Candidate, CriticConfig


@dataclass
class CriticReport:
    selected: list[Candidate]
    dropped: Counter = field(default_factory=Counter)

    def to_dict(self) -> dict:
        return {"selected": len(self.selected), "dropped": dict(self.dropped)}


def sponsored_boost(candidate: Candidate, cap: float) -> float:
    return min(max(candidate.product.sponsored, 0.0), 1.0) * cap


def select(candidates: list[Candidate], k: int, vectors: np.ndarray, config: CriticConfig) -> CriticReport:
    dropped: Counter = Counter()
    pool = _admitted(candidates, config, dropped)
    chosen: list[Candidate] = []
    waiting: list[Candidate] = []   # near-duplicates and capped brands, used only if the page has room
    brands: Counter = Counter()
    chosen_vecs: list[np.ndarray] = []
    remaining = pool[:]
    while remaining and len(chosen) < k:
        c = remaining.pop(_best(remaining, chosen_vecs, vectors, config))
        vec = vectors[c.position]
        if any(float(vec @ v) >= config.dedupe_similarity for v in chosen_vecs):
            c.held_back = "near-duplicate"
            dropped[c.held_back] += 1
            waiting.append(c)
            continue
        brand = (c.product.brand or "").casefold()
        if config.brand_cap and brand and brands[brand] >= config.brand_cap:
            c.held_back = "brand cap (deferred)"
            dropped[c.held_back] += 1
            waiting.append(c)
            continue
        chosen.append(c)
        chosen_vecs.append(vec)
        brands[brand] += 1
    # A short page takes what waited, in ranking order: leaving out a match when there is room would make
    # the answer claim fewer matches than the catalog has (a shortfall counts what is shown).
    order = {id(c): i for i, c in enumerate(pool)}
    for c in sorted(waiting, key=lambda c: order[id(c)])[: max(0, k - len(chosen))]:
        chosen.append(c)
        dropped[c.held_back] -= 1
    return CriticReport(chosen, +dropped)


def _admitted(candidates: list[Candidate], config: CriticConfig, dropped: Counter) -> list[Candidate]:
    """Candidates past the stock and budget rules, sponsored lift applied, in ranking order."""
    pool: list[Candidate] = []
    for c in candidates:
        if config.in_stock_only and c.product.in_stock is False:
            dropped["out of stock"] += 1
            continue
        if config.budget is not None and c.product.price is not None and c.product.price > config.budget:
            dropped["over budget"] += 1
            continue
        boost = sponsored_boost(c, config.sponsored_cap)
        if boost:
            c.boosts["sponsored"] = boost
            c.score += boost
        pool.append(c)
    pool.sort(key=lambda c: (c.tier, -c.score))
    return pool


def _best(remaining: list[Candidate], chosen_vecs: list[np.ndarray], vectors: np.ndarray,
          config: CriticConfig) -> int:
    """The next pick: maximal marginal relevance within the strictest tier left (the first without diversity)."""
    if not config.diversity:
        return 0
    best_i, best_value = 0, -np.inf
    tier = min(c.tier for c in remaining)  # a stricter tier is used up before a looser one
    for i, c in enumerate(remaining):
        if c.tier != tier:
            continue
        vec = vectors[c.position]
        max_sim = max((float(vec @ v) for v in chosen_vecs), default=0.0)
        value = config.mmr_lambda * c.score - (1 - config.mmr_lambda) * max_sim
        if value > best_value:
            best_i, best_value = i, value
    return best_i
