"""Evaluation layer: `fashrec eval search`: static text search, by embedding alone and understood by a planner.

Queries are written from the indexed products' own attributes, in a few phrasings a shopper would use,
and a result is relevant when its metadata has what the query names:

- ``triple``: "{colour} {category} for {gender}" (and "{gender}'s {colour} {category}", ...);
- ``pair``: "{colour} {category}";
- ``negated``: "{category} for {gender}, not {colour}" (relevant: any other colour);
- ``usage``: "{usage} {category} for {gender}".

Only queries with at least 10 relevant products are asked, so a P@10 of 1.0 is reachable. Each
strategy answers the same queries over the same index (the one ``fashrec eval refine`` builds): the
``embedding`` strategy is similarity search alone; ``rules`` / ``hybrid`` first ground the words in the
catalog's vocabulary with that planner and filter on them (:class:`fashrec.search.Searcher`).
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from fashrec.catalog import Product
from fashrec.catalog.roles import attribute_for_role
from fashrec.catalog.wording import possessive, singular
from fashrec.encoder import load_encoder
from fashrec.evaluation.metrics import rounded_fields
from fashrec.evaluation.refine import split_catalog
from fashrec.index import open_index
from fashrec.index.build import build_index
from fashrec.planner import create_planner
from fashrec.search import Searcher

TOP = 10
KINDS = ("triple", "triple", "pair", "negated", "usage")
TRIPLE_TEMPLATES = ("{c} {a} for {g}", "{p} {c} {a}", "{a} in {c} for {g}", "{c} {a}, {g}")


@dataclass
class SearchQuery:
    text: str
    kind: str
    wanted: dict[str, str]                                   # attribute -> required value
    unwanted: dict[str, str] = field(default_factory=dict)   # attribute -> forbidden value

    def matches(self, p: Product) -> bool:
        return (all(v in p.attributes.get(a, ()) for a, v in self.wanted.items())
                and not any(v in p.attributes.get(a, ()) for a, v in self.unwanted.items()))


@dataclass
class SearchScore:
    strategy: str
    precision_at_10: float
    hit_at_10: float
    latency_p50_ms: float
    latency_p95_ms: float
    by_kind: dict[str, float]

    def to_dict(self) -> dict:
        return rounded_fields(self)


@dataclass
class SearchEvalReport:
    catalog: str
    indexed: int
    queries: int
    kinds: dict[str, int]
    strategies: list[SearchScore]
    load_ms: dict[str, float]

    def to_dict(self) -> dict:
        return {"catalog": self.catalog, "indexed": self.indexed, "queries": self.queries, "kinds": self.kinds,
                "load_ms": {k: round(v, 1) for k, v in self.load_ms.items()},
                "strategies": [s.to_dict() for s in self.strategies]}


def make_queries(products: list[Product], n: int, seed: int) -> list[SearchQuery]:
    """``n`` answerable queries (at least TOP relevant products each), a mix of KINDS."""
    attrs = sorted({a for p in products for a in p.attributes})
    cat, col, gen, use = (attribute_for_role(attrs, r) for r in ("category", "color", "gender", "usage"))
    if not (cat and col):
        return []
    rng = random.Random(seed)
    counts: Counter = Counter()
    for p in products:
        counts[(p.first(cat), p.first(col), p.first(gen) if gen else None, p.first(use) if use else None)] += 1

    def count(**want: str) -> int:
        names = {"cat": 0, "col": 1, "gen": 2, "use": 3}
        return sum(c for key, c in counts.items() if all(key[names[k]] == v for k, v in want.items()))

    seeds = products[:]
    rng.shuffle(seeds)
    out: list[SearchQuery] = []
    seen: set[str] = set()
    for p in seeds:
        c, a, g, u = p.first(col), p.first(cat), p.first(gen) if gen else None, p.first(use) if use else None
        if not (c and a):
            continue
        kind = rng.choice(KINDS)
        s = singular(a)
        query = None
        if kind == "triple" and g and count(cat=a, col=c, gen=g) >= TOP:
            text = rng.choice(TRIPLE_TEMPLATES).format(c=c, a=a, g=g, p=possessive(g))
            query = SearchQuery(text, kind, {cat: a, col: c, gen: g})
        elif kind == "pair" and count(cat=a, col=c) >= TOP:
            query = SearchQuery(f"{c} {rng.choice([a, s])}", kind, {cat: a, col: c})
        elif kind == "negated" and g and count(cat=a, gen=g) - count(cat=a, gen=g, col=c) >= TOP:
            query = SearchQuery(f"{a} for {g}, not {c}", kind, {cat: a, gen: g}, {col: c})
        elif kind == "usage" and g and u and count(cat=a, gen=g, use=u) >= TOP:
            query = SearchQuery(f"{u} {a} for {g}", kind, {cat: a, gen: g, use: u})
        if query and query.text not in seen:
            seen.add(query.text)
            out.append(query)
        if len(out) >= n:
            break
    return out


def evaluate_search(catalog: Path, *, n: int = 200, seed: int = 0,
                    strategies: tuple[str, ...] = ("embedding", "rules"), workdir: Path | None = None,
                    model: str | None = None, progress: Callable[[int], None] | None = None) -> SearchEvalReport:

    catalog = Path(catalog)
    workdir = workdir or catalog.parent / f"{catalog.stem}.eval-refine"   # the same index as eval refine
    load_ms: dict[str, float] = {}
    t = time.perf_counter()
    indexed_catalog, _, _ = split_catalog(catalog, workdir)
    build_index(indexed_catalog, workdir / "index", model=model)
    index = open_index(workdir / "index")
    load_ms["index"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    encoder = load_encoder(index.encoder_spec, interactive=True)
    load_ms["encoder_load"] = (time.perf_counter() - t) * 1000
    searchers = {s: Searcher(index, encoder, None if s == "embedding" else create_planner(s)) for s in strategies}
    queries = make_queries(index.products, n, seed)

    per: dict[str, dict[str, list]] = {s: defaultdict(list) for s in strategies}
    for query in queries:
        for strategy, searcher in searchers.items():
            t = time.perf_counter()
            hits = searcher.text(query.text, k=TOP).results
            per[strategy]["latency"].append((time.perf_counter() - t) * 1000)
            relevant = sum(query.matches(h.product) for h in hits)
            per[strategy]["p"].append(relevant / TOP)
            per[strategy]["hit"].append(relevant > 0)
            per[strategy][f"kind:{query.kind}"].append(relevant / TOP)
        if progress:
            progress(1)

    def mean(values: list) -> float:
        return float(np.mean(values)) if values else 0.0

    scores = [SearchScore(s, mean(v["p"]), mean(v["hit"]), float(np.percentile(v["latency"], 50)) if v["latency"] else 0.0,
                          float(np.percentile(v["latency"], 95)) if v["latency"] else 0.0,
                          {k.split(":", 1)[1]: round(mean(x), 4) for k, x in sorted(v.items()) if k.startswith("kind:")})
              for s, v in per.items()]
    return SearchEvalReport(str(catalog), len(index), len(queries), dict(Counter(q.kind for q in queries)), scores,
                            load_ms)
