"""Evaluation layer: `fashrec eval outfit`: how consistent, harmonious and diverse the composed outfits are.

Anchors are catalog products (a seeded sample of those whose garment group has slots). For each, the
composer builds n outfits; every measure is computed from the products' own metadata, independently of
the scores the composer used, and the same measures are reported for a baseline that fills each slot
with a random in-stock product of the right group, so the numbers have a floor to compare with.

- gender agreement: share of outfits whose pieces all suit the anchor's gender and each other;
- usage / season agreement: share of pieces with exactly the anchor's usage (or the requested occasion)
  / season, and share that are at least compatible (fit table >= 0.5 for usage, > 0 for season);
- slot coverage: share of required slots filled (an anchor with no outfit counts as 0);
- colour harmony: the colour cue of ``outfit.colors`` per outfit, clash, loud-colour and double-denim
  rates;
- diversity across one anchor's outfits: share of distinct pieces, mean pairwise Jaccard distance of
  their piece sets, mean image-embedding dissimilarity (1 - cosine) of same-slot pieces;
- latency per anchor (composition only; the index is loaded once).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Callable

import numpy as np

from fashrec.ammr.anchor import anchor_from_product
from fashrec.encoder import load_encoder
from fashrec.errors import UsageError
from fashrec.evaluation.metrics import rounded_fields
from fashrec.index import index_dir_for, open_index
from fashrec.index.build import build_index
from fashrec.outfit import OutfitComposer, harmony
from fashrec.outfit.harmony import denim_pieces, loud_colors, outfit_penalty

CLASH_SCORE = 0.25


@dataclass
class OutfitMetrics:
    """One system's numbers (the composer or the random baseline)."""

    outfits: int = 0
    outfits_per_anchor: float = 0.0
    gender_agreement: float = 0.0
    usage_exact: float = 0.0
    usage_compatible: float = 0.0
    season_exact: float = 0.0
    season_compatible: float = 0.0
    slot_coverage: float = 0.0
    optional_filled: float = 0.0
    colour_mean: float = 0.0
    colour_p10: float = 0.0
    colour_p50: float = 0.0
    clash_rate: float = 0.0
    loud_violation_rate: float = 0.0
    double_denim_rate: float = 0.0
    distinct_piece_share: float = 0.0
    jaccard_distance: float = 0.0
    embedding_dissimilarity: float = 0.0
    latency_p50_ms: float | None = None     # None for the baseline, which has nothing to time
    latency_p95_ms: float | None = None

    def to_dict(self) -> dict:
        return rounded_fields(self)


@dataclass
class OutfitEvalReport:
    catalog: str
    index: str
    items: int
    anchors: int
    n: int
    occasion: str | None
    anchor_groups: dict[str, int]
    composer: OutfitMetrics
    baseline: OutfitMetrics
    load_ms: dict[str, float] = field(default_factory=dict)
    encoder: str | None = None

    def to_dict(self) -> dict:
        return {"catalog": self.catalog, "index": self.index, "items": self.items, "anchors": self.anchors,
                "n": self.n, "occasion": self.occasion, "anchor_groups": self.anchor_groups,
                "encoder": self.encoder, "load_ms": {k: round(v, 1) for k, v in self.load_ms.items()},
                "composer": self.composer.to_dict(), "baseline": self.baseline.to_dict()}


@dataclass
class _Outfit:
    """An outfit as the metrics see it: slot -> product position, for one anchor position."""

    pieces: dict[str, int]
    required: list[str]
    optional: list[str]


class _Collector:
    """Accumulates per-outfit and per-anchor measurements for one system."""

    def __init__(self, composer: OutfitComposer) -> None:
        self.c = composer
        self.values: dict[str, list[float]] = {}
        self.anchors = 0

    def add(self, key: str, value: float) -> None:
        self.values.setdefault(key, []).append(float(value))

    def anchor(self, anchor_pos: int, outfits: list[_Outfit], wanted_usage: str | None, required: list[str],
               latency_ms: float | None) -> None:
        w, tables = self.c.wardrobe, self.c.definition.tables
        a = w.traits[anchor_pos]
        self.anchors += 1
        self.add("outfits", len(outfits))
        if latency_ms is not None:
            self.add("latency", latency_ms)
        if not outfits:
            self.add("coverage", 0.0)
        for o in outfits:
            traits = [w.traits[p] for p in o.pieces.values()]
            genders = {t.gender for t in traits if t.gender and t.gender != "unisex"}
            ok = all(tables["gender"].score(a.gender, t.gender) > 0 for t in traits) and len(genders) <= 1
            self.add("gender", ok)
            for t in traits:
                if wanted_usage and t.usage:
                    self.add("usage_exact", t.usage == wanted_usage)
                    self.add("usage_compatible", tables["occasion"].score(wanted_usage, t.usage) >= 0.5)
                if a.season and t.season:
                    self.add("season_exact", t.season == a.season)
                    self.add("season_compatible", tables["season"].score(a.season, t.season) > 0)
            self.add("coverage", sum(1 for s in required if s in o.pieces) / max(len(required), 1))
            if o.optional:
                self.add("optional", sum(1 for s in o.optional if s in o.pieces) / len(o.optional))
            colors = [a.color] + [t.color for t in traits]
            pairs = [harmony(x, y).score for x, y in combinations(colors, 2)]
            self.add("colour", max(0.0, float(np.mean(pairs)) - outfit_penalty(colors)) if pairs else 0.0)
            self.add("clash", any(s <= CLASH_SCORE for s in pairs))
            self.add("loud", len(loud_colors(colors)) > 1)
            self.add("denim", denim_pieces(colors) > 1)
        if len(outfits) > 1:
            ids = [set(o.pieces.values()) for o in outfits]
            total = sum(len(s) for s in ids)
            self.add("distinct", len(set().union(*ids)) / max(total, 1))
            self.add("jaccard", np.mean([1 - len(x & y) / max(len(x | y), 1) for x, y in combinations(ids, 2)]))
            vecs = self.c.index.image_vectors
            dissim = [1 - float(vecs[x.pieces[s]] @ vecs[y.pieces[s]])
                      for x, y in combinations(outfits, 2) for s in x.pieces if s in y.pieces]
            if dissim:
                self.add("embedding", np.mean(dissim))

    def metrics(self) -> OutfitMetrics:
        def mean(key: str) -> float:
            vals = self.values.get(key)
            return float(np.mean(vals)) if vals else 0.0

        colour = np.array(self.values.get("colour") or [0.0])
        latency = self.values.get("latency")
        return OutfitMetrics(
            outfits=int(sum(self.values.get("outfits", []))), outfits_per_anchor=mean("outfits"),
            gender_agreement=mean("gender"), usage_exact=mean("usage_exact"),
            usage_compatible=mean("usage_compatible"), season_exact=mean("season_exact"),
            season_compatible=mean("season_compatible"), slot_coverage=mean("coverage"),
            optional_filled=mean("optional"), colour_mean=float(colour.mean()),
            colour_p10=float(np.percentile(colour, 10)), colour_p50=float(np.percentile(colour, 50)),
            clash_rate=mean("clash"), loud_violation_rate=mean("loud"), double_denim_rate=mean("denim"),
            distinct_piece_share=mean("distinct"),
            jaccard_distance=mean("jaccard"), embedding_dissimilarity=mean("embedding"),
            latency_p50_ms=float(np.percentile(latency, 50)) if latency else None,
            latency_p95_ms=float(np.percentile(latency, 95)) if latency else None)


def pick_anchors(composer: OutfitComposer, count: int, seed: int) -> list[int]:
    """A seeded sample of product positions whose garment group has outfit slots."""
    w = composer.wardrobe
    eligible = [pos for pos, t in enumerate(w.traits) if t.group and composer.definition.slots_for(t.group)]
    rng = random.Random(seed)
    return sorted(rng.sample(eligible, min(count, len(eligible))))


def in_stock_pools(composer: OutfitComposer) -> dict[str, np.ndarray]:
    w = composer.wardrobe
    return {g: pos[w.in_stock[pos]] for g, pos in w.groups.items()}


def random_outfits(composer: OutfitComposer, anchor_pos: int, n: int, rng: random.Random,
                   pools: dict[str, np.ndarray]) -> list[_Outfit]:
    """The baseline: each slot filled with a random in-stock product of its group, no rules.

    Optional slots are filled half of the time. Slots never draw from the anchor's own group, so the
    anchor itself cannot be drawn.
    """
    slots = composer.definition.slots_for(composer.wardrobe.traits[anchor_pos].group or "")
    outfits = []
    for _ in range(n):
        pieces = {}
        for slot in slots:
            pool = pools.get(slot.group)
            if pool is not None and len(pool) and (not slot.optional or rng.random() < 0.5):
                pieces[slot.name] = int(pool[rng.randrange(len(pool))])
        outfits.append(_Outfit(pieces, [s.name for s in slots if not s.optional],
                               [s.name for s in slots if s.optional]))
    return outfits


def evaluate_outfits(
    catalog: str | Path | None = None, *, index_dir: str | Path | None = None, n_anchors: int = 100, n: int = 3,
    occasion: str | None = None, seed: int = 0, model: str | None = None, use_encoder: bool = False,
    progress: Callable[[int], None] | None = None,
) -> OutfitEvalReport:
    """Compose outfits for ``n_anchors`` catalog products and measure them (see the module docstring).

    The index is ``index_dir`` when given, else the catalog's own index (next to it, as ``fashrec index``
    makes it), built or updated incrementally first. The encoder is loaded only for the occasion
    prompt cue (``use_encoder`` or an ``occasion``).
    """

    if catalog is None and index_dir is None:
        raise UsageError("give a catalog or an index to evaluate outfits on")
    load_ms: dict[str, float] = {}
    t = time.perf_counter()
    if index_dir is None:

        index_dir = index_dir_for(catalog)
        build_index(catalog, index_dir, model=model)
        load_ms["index_build"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
    index = open_index(index_dir)
    load_ms["index_open"] = (time.perf_counter() - t) * 1000
    encoder = None
    if use_encoder or occasion:

        t = time.perf_counter()
        encoder = load_encoder(index.encoder_spec)
        load_ms["encoder_load"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    composer = OutfitComposer(index, encoder)
    load_ms["wardrobe"] = (time.perf_counter() - t) * 1000

    anchors = pick_anchors(composer, n_anchors, seed)
    ours, base = _Collector(composer), _Collector(composer)
    rng = random.Random(seed)
    pools = in_stock_pools(composer)
    groups: Counter = Counter()
    for pos in anchors:
        product = index.products[pos]
        anchor = anchor_from_product(index, product.id)
        t = time.perf_counter()
        result = composer.compose(anchor, occasion=occasion, n=n)
        latency = (time.perf_counter() - t) * 1000
        ctx = result.context
        groups[ctx.traits.group] += 1
        required = [s.name for s in ctx.slots if not s.optional]
        optional = [s.name for s in ctx.slots if s.optional]
        found = [_Outfit({p.slot: index.position(p.product.id) for p in o.pieces}, required, optional)
                 for o in result.outfits]
        ours.anchor(pos, found, ctx.occasion, required, latency)
        base.anchor(pos, random_outfits(composer, pos, n, rng, pools), ctx.occasion, required, None)
        if progress:
            progress(1)
    return OutfitEvalReport(str(catalog) if catalog else "", str(index.folder), len(index), len(anchors), n,
                            occasion, dict(groups.most_common()), ours.metrics(), base.metrics(), load_ms,
                            index.encoder_identifier)
