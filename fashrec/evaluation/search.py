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

Honesty (issue 11), for the understood strategies: the result rows that break what the query was
understood to ask (checked on the catalog's metadata by :mod:`fashrec.evaluation.honesty`, not by the
answer's own guard; must be 0), how often a shortfall is declared, and short answers that do not say so
(must be 0). A second set of ``short`` queries ("{colour} {category} for {gender}") is built to have 0 to
5 relevant products (in stock), spread evenly: every answer must declare the shortfall with ``found``
equal to that number, and list near misses apart when any exist. They are scored apart from P@10.
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
from fashrec.evaluation.honesty import search_honesty
from fashrec.evaluation.metrics import rounded_fields
from fashrec.evaluation.refine import split_catalog
from fashrec.index import open_index
from fashrec.index.build import build_index
from fashrec.planner import create_planner
from fashrec.search import Searcher

TOP = 10
SHORT_MAX = 5
KINDS = ("triple", "triple", "pair", "negated", "usage")
TRIPLE_TEMPLATES = ("{c} {a} for {g}", "{p} {c} {a}", "{a} in {c} for {g}", "{c} {a}, {g}")


@dataclass
class SearchQuery:
    text: str
    kind: str
    wanted: dict[str, str]                                   # attribute -> required value
    unwanted: dict[str, str] = field(default_factory=dict)   # attribute -> forbidden value
    exact: int | None = None      # a short query: how many in-stock products match (0..SHORT_MAX)

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
    # Honesty, for an understood strategy (None for similarity alone, which understands nothing).
    result_rows: int | None = None
    violating_rows: int | None = None     # rows that break what the query was understood to ask: must be 0
    declared: float | None = None         # share of answers that declare a shortfall
    undeclared: int | None = None         # answers with fewer than 10 results that do not say so: must be 0

    def to_dict(self) -> dict:
        return rounded_fields(self)


@dataclass
class ShortScore:
    """The ``short`` queries (0..5 relevant products each), for one understood strategy."""

    strategy: str
    queries: int
    misread: int                  # the planner read another set of values: not scored
    declared: float               # share that declare the shortfall: must be 1
    found_right: float            # share whose shortfall 'found' is the number of relevant products
    result_rows: int
    violating_rows: int           # must be 0
    with_alternatives: float      # share, of those with a near miss to offer, that list some

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
    short: list[ShortScore] = field(default_factory=list)
    short_queries: dict[int, int] = field(default_factory=dict)   # short queries per number of relevant products

    def to_dict(self) -> dict:
        return {"catalog": self.catalog, "indexed": self.indexed, "queries": self.queries, "kinds": self.kinds,
                "load_ms": {k: round(v, 1) for k, v in self.load_ms.items()},
                "strategies": [s.to_dict() for s in self.strategies],
                "short_queries": {str(k): v for k, v in sorted(self.short_queries.items())},
                "short": [s.to_dict() for s in self.short]}


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


def make_short_queries(products: list[Product], n: int, seed: int) -> list[SearchQuery]:
    """``n`` "{colour} {category} for {gender}" queries with 0..SHORT_MAX relevant in-stock products,
    drawn in turn from each count (as evenly as the catalog allows); the category and gender are a
    product's, the colour one the catalog has."""
    attrs = sorted({a for p in products for a in p.attributes})
    cat, col, gen = (attribute_for_role(attrs, r) for r in ("category", "color", "gender"))
    if not (cat and col and gen):
        return []
    counts = Counter((p.first(cat), p.first(col), p.first(gen)) for p in products if p.in_stock is not False)
    colours = sorted({p.first(col) for p in products if p.first(col)})
    identities = sorted({(p.first(cat), p.first(gen)) for p in products if p.first(cat) and p.first(gen)})
    rng = random.Random(seed)
    buckets: dict[int, list[tuple[str, str, str]]] = {w: [] for w in range(SHORT_MAX + 1)}
    for a, g in identities:
        for c in colours:
            if counts[(a, c, g)] <= SHORT_MAX:
                buckets[counts[(a, c, g)]].append((a, c, g))
    for bucket in buckets.values():
        rng.shuffle(bucket)
    out: list[SearchQuery] = []
    while len(out) < n and any(buckets.values()):
        for want, bucket in buckets.items():
            if bucket and len(out) < n:
                a, c, g = bucket.pop()
                text = rng.choice(TRIPLE_TEMPLATES).format(c=c, a=a, g=g, p=possessive(g))
                out.append(SearchQuery(text, "short", {cat: a, col: c, gen: g}, exact=want))
    return out


def evaluate_search(catalog: Path, *, n: int = 200, seed: int = 0,
                    strategies: tuple[str, ...] = ("embedding", "rules"), workdir: Path | None = None,
                    model: str | None = None, progress: Callable[[int], None] | None = None,
                    short: int = 60) -> SearchEvalReport:
    """P@10 of each strategy on ``n`` answerable queries, with the honesty of each answer; and ``short``
    queries with 0..5 relevant products, for the understood strategies."""
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
            _answer(per[strategy], searcher, query)
        if progress:
            progress(1)
    scores = [_score(s, v, understood=searchers[s].planner is not None) for s, v in per.items()]
    shorts = make_short_queries(index.products, short, seed) if short else []
    short_scores = [_short_score(s, searcher, shorts) for s, searcher in searchers.items()
                    if searcher.planner is not None]
    return SearchEvalReport(str(catalog), len(index), len(queries), dict(Counter(q.kind for q in queries)), scores,
                            load_ms, short_scores, dict(Counter(q.exact for q in shorts)))


def _mean(values: list) -> float:
    return float(np.mean(values)) if values else 0.0


def _answer(tally: dict[str, list], searcher: Searcher, query: SearchQuery) -> None:
    t = time.perf_counter()
    result = searcher.text(query.text, k=TOP)
    tally["latency"].append((time.perf_counter() - t) * 1000)
    relevant = sum(query.matches(h.product) for h in result.results)
    tally["p"].append(relevant / TOP)
    tally["hit"].append(relevant > 0)
    tally[f"kind:{query.kind}"].append(relevant / TOP)
    honesty = search_honesty(result)
    tally["rows"].append(honesty.rows)
    tally["violating"].append(len({pid for pid, _ in honesty.violations}))
    tally["declared"].append(float(honesty.declared))
    tally["undeclared"].append(int(honesty.undeclared))


def _score(strategy: str, v: dict[str, list], *, understood: bool) -> SearchScore:
    latency = v["latency"]
    honest = (int(sum(v["rows"])), int(sum(v["violating"])), _mean(v["declared"]), int(sum(v["undeclared"]))) \
        if understood else (None, None, None, None)
    return SearchScore(strategy, _mean(v["p"]), _mean(v["hit"]),
                       float(np.percentile(latency, 50)) if latency else 0.0,
                       float(np.percentile(latency, 95)) if latency else 0.0,
                       {k.split(":", 1)[1]: round(_mean(x), 4) for k, x in sorted(v.items()) if k.startswith("kind:")},
                       *honest)


def _short_score(strategy: str, searcher: Searcher, queries: list[SearchQuery]) -> ShortScore:
    t: dict[str, list] = defaultdict(list)
    misread = 0
    for query in queries:
        result = searcher.text(query.text, k=TOP)
        if result.plan is None or result.plan.set != query.wanted or result.plan.exclude:
            misread += 1
            continue
        honesty = search_honesty(result)
        t["declared"].append(float(result.shortfall is not None))
        t["found"].append(float(result.shortfall is not None and result.shortfall.found == query.exact))
        t["rows"].append(honesty.rows)
        t["violating"].append(len({pid for pid, _ in honesty.violations}))
        short = result.shortfall
        # Near misses come only from a way forward that adds something (Option.useful): the ways the shopper
        # is offered and draw_alternatives draws from. One that finds more than the answer but adds nothing
        # has none to give, so an answer listing none there hides nothing.
        if short is not None and any(o.useful and o.count > short.found for o in short.options):
            t["alts"].append(float(bool(result.alternatives)))
    return ShortScore(strategy, len(queries), misread, _mean(t["declared"]), _mean(t["found"]), int(sum(t["rows"])),
                      int(sum(t["violating"])), _mean(t["alts"]))

