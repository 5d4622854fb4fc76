"""AMMR stage 6, the critic: the stakeholder rules applied to guarded candidates.

- stock: out-of-stock items are dropped unless the shopper accepts them;
- budget: the profile's budget is a hard cap (a plan's price range is checked by the guard);
- near-duplicates: an item almost identical in look to one already chosen is skipped;
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

    chosen: list[Candidate] = []
    brands: Counter = Counter()
    chosen_vecs: list[np.ndarray] = []
    remaining = pool[:]
    while remaining and len(chosen) < k:
        best_i, best_value = None, -np.inf
        tier = min(c.tier for c in remaining)  # a stricter tier is used up before a looser one
        for i, c in enumerate(remaining):
            if c.tier != tier:
                continue
            vec = vectors[c.position]
            max_sim = max((float(vec @ v) for v in chosen_vecs), default=0.0)
            value = (config.mmr_lambda * c.score - (1 - config.mmr_lambda) * max_sim
                     if config.diversity else c.score)
            if value > best_value:
                best_i, best_value = i, value
            if not config.diversity:
                break
        c = remaining.pop(best_i)
        vec = vectors[c.position]
        if any(float(vec @ v) >= config.dedupe_similarity for v in chosen_vecs):
            dropped["near-duplicate"] += 1
            continue
        brand = (c.product.brand or "").casefold()
        if config.brand_cap and brand and brands[brand] >= config.brand_cap:
            # Capped brands wait until the other brands run out, so a short list still fills up.
            dropped["brand cap (deferred)"] += 1
            c.boosts["brand-capped"] = 0.0
            continue
        chosen.append(c)
        chosen_vecs.append(vec)
        brands[brand] += 1
    if len(chosen) < k:
        deferred = [c for c in pool if "brand-capped" in c.boosts and c not in chosen]
        for c in deferred[: k - len(chosen)]:
            chosen.append(c)
            dropped["brand cap (deferred)"] -= 1
    return CriticReport(chosen, +dropped)
