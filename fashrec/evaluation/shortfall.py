"""Evaluation layer: `fashrec eval shortfall`: requests built to have 0-5 exact matches, and whether the
answers say so.

Anchors are photos from the catalog's evaluation slice (never indexed), given their own labels (as
``ammr-labelled`` in `fashrec eval refine`), so what an exact match is does not depend on how the photo
is read: an indexed product with the anchor's category and gender and the value the request asks for
("but in olive", "something for party wear"). Each request is chosen so that 0 to 5 such products exist
(spread evenly over 0..5), counted here product by product (in stock), not with the index's masks.

Every answer must:

- hold in ``results`` only exact matches (no row breaks a stated constraint or the anchor's identity,
  checked by :mod:`fashrec.evaluation.honesty`), at most as many as exist;
- state the shortfall (fewer than k results, so ``shortfall`` is set, with ``found`` = the results);
- show every exact match: ``found`` equals the number of exact matches counted here (a page with room
  never leaves one out, say as a near-duplicate photo of another);
- name, with its count, each single relaxation that would yield more products than were found:
  dropping the category, the gender or the asked value. A count is right when it equals the count made
  here (the anchor's look -- colour, pattern -- is no longer required once the loop gave it up).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fashrec.ammr.loop import RefineOptions, Refiner
from fashrec.catalog import Product
from fashrec.encoder import load_encoder
from fashrec.evaluation.honesty import answer_honesty
from fashrec.evaluation.metrics import rounded_fields
from fashrec.evaluation.refine import labelled_anchor, split_catalog
from fashrec.index import open_index
from fashrec.index.build import build_index
from fashrec.planner import create_planner

K = 10
MAX_EXACT = 5
IDENTITY = ("category", "gender")
# What a request changes, and how it says it (the rules planner reads both phrasings).
ASKS = {"color": "but in {v}", "usage": "something for {v} wear"}


@dataclass
class SuiteRequest:
    anchor: Product
    attribute: str
    value: str
    text: str
    exact: int                       # indexed products with the anchor's identity and the asked value
    drops: dict[str, int]            # check label dropped -> products then ("category=shirts": 13)


@dataclass
class ShortfallReport:
    catalog: str
    requests: int
    by_exact: dict[int, int]          # requests per number of exact matches (0..5)
    misread: int                      # requests the planner read otherwise (not scored)
    violating_rows: int               # result rows that break a promise: must be 0
    result_rows: int
    over_exact: int                   # answers with more results than exact matches exist: must be 0
    declared: float                   # share of answers that state the shortfall: must be 1
    found_right: float                # share whose shortfall 'found' equals its number of results
    found_all: float                  # share whose 'found' equals the exact matches counted here: must be 1
    exact_recall: float               # results found / exact matches that exist
    relaxations: int                  # single relaxations that would yield more than was found
    named: float                      # share of those the answer names with the right count: must be 1
    named_wrong: list[dict] = field(default_factory=list)   # the first few that were not (for debugging)
    with_alternatives: float = 0.0    # share of answers with a yielding relaxation that list near misses
    latency_p50_ms: float = 0.0

    def to_dict(self) -> dict:
        data = rounded_fields(self)
        data["by_exact"] = {str(k): v for k, v in sorted(self.by_exact.items())}
        return data


def _key(p: Product, attrs: tuple[str, ...]) -> tuple:
    return tuple(p.first(a) for a in attrs)


class _Tally:
    """Products counted by (category, gender, attribute value) and by each pair of those, once."""

    def __init__(self, products: list[Product]):
        self.full: Counter = Counter()
        self.pairs: Counter = Counter()
        for p in products:
            if p.in_stock is False:      # never shown unless asked for, so never an exact match
                continue
            cat, gen = _key(p, IDENTITY)
            for attr in ASKS:
                v = p.first(attr)
                self.full[(cat, gen, attr, v)] += 1
                self.pairs[("gender", gen, attr, v)] += 1       # no category
                self.pairs[("category", cat, attr, v)] += 1     # no gender
            self.pairs[("identity", cat, gen)] += 1             # no asked value

    def drops(self, anchor: Product, attr: str, value: str) -> dict[str, int]:
        cat, gen = _key(anchor, IDENTITY)
        return {f"category={cat}": self.pairs[("gender", gen, attr, value)],
                f"gender={gen}": self.pairs[("category", cat, attr, value)],
                f"{attr}={value}": self.pairs[("identity", cat, gen)]}


def make_suite(indexed: list[Product], anchors: list[Product], n: int, seed: int) -> list[SuiteRequest]:
    """``n`` requests with 0..5 exact matches each, spread evenly over those counts."""
    rng = random.Random(seed)
    tally = _Tally(indexed)
    values = {a: sorted({p.first(a) for p in indexed if p.first(a)}) for a in ASKS}
    pool = [p for p in anchors if all(p.first(a) for a in (*IDENTITY, *ASKS))]
    rng.shuffle(pool)
    out: list[SuiteRequest] = []
    for number, anchor in enumerate(pool):
        want = len(out) % (MAX_EXACT + 1)          # 0, 1, ..., 5, 0, ...
        attr = list(ASKS)[number % len(ASKS)]
        cat, gen = _key(anchor, IDENTITY)
        fits = [v for v in values[attr] if v != anchor.first(attr) and tally.full[(cat, gen, attr, v)] == want]
        if not fits:
            continue
        value = rng.choice(fits)
        out.append(SuiteRequest(anchor, attr, value, ASKS[attr].format(v=value), want,
                                tally.drops(anchor, attr, value)))
        if len(out) >= n:
            break
    return out


def evaluate_shortfall(catalog: Path, *, n: int = 120, seed: int = 0, workdir: Path | None = None,
                       model: str | None = None, planner: str = "rules", progress=None) -> ShortfallReport:
    catalog = Path(catalog)
    workdir = workdir or catalog.parent / f"{catalog.stem}.eval-refine"
    indexed_catalog, indexed, anchors = split_catalog(catalog, workdir)
    build_index(indexed_catalog, workdir / "index", model=model)
    index = open_index(workdir / "index")
    refiner = Refiner(index, load_encoder(index.encoder_spec, interactive=True), create_planner(planner),
                      fallback_planner=create_planner("rules") if planner != "rules" else None)
    suite = make_suite(indexed, anchors, n, seed)
    tallies: dict[str, list] = {k: [] for k in ("violations", "rows", "over", "declared", "found", "results",
                                                  "exact", "all", "alts", "latency")}
    relaxations, named, wrong, misread = 0, 0, [], 0
    for req in suite:
        read = refiner.anchor_from_image(req.anchor.image_path)
        anchor = labelled_anchor(req.anchor, read)
        t = time.perf_counter()
        result = refiner.refine(anchor, req.text, RefineOptions(k=K))
        tallies["latency"].append((time.perf_counter() - t) * 1000)
        if progress:
            progress(1)
        if result.plan.set != {req.attribute: req.value}:
            misread += 1
            continue
        yielded, right = _named(result, req)
        relaxations += len(yielded)
        named += len(right)
        wrong += [{"text": req.text, "anchor": req.anchor.id, "drop": d, "count": req.drops[d],
                   "answer": _offered(result).get(d)} for d in yielded if d not in right][:3]
        _score_answer(tallies, result, req, bool(yielded))
    return _report(str(catalog), suite, misread, tallies, relaxations, named, wrong)


def _offered(result) -> dict[str, int]:
    """The answer's single-relaxation options: check label dropped -> count."""
    options = result.shortfall.options if result.shortfall else []
    return {o.relax[0].constraint: o.count for o in options if len(o.relax) == 1}


def _named(result, req: SuiteRequest) -> tuple[list[str], list[str]]:
    """(relaxations that would yield more than was found, those the answer names with that count)."""
    found = len(result.results)
    yielded = [d for d, count in req.drops.items() if count > found]
    offered = _offered(result)
    return yielded, [d for d in yielded if offered.get(d) == req.drops[d]]


def _score_answer(t: dict[str, list], result, req: SuiteRequest, yields: bool) -> None:
    honesty = answer_honesty(result)
    t["violations"].append(len({pid for pid, _ in honesty.violations}))
    t["rows"].append(honesty.rows)
    t["over"].append(int(len(result.results) > req.exact))
    t["declared"].append(float(result.shortfall is not None))
    t["found"].append(float(result.shortfall is not None and result.shortfall.found == len(result.results)))
    t["all"].append(float(result.shortfall is not None and result.shortfall.found == req.exact))
    t["results"].append(len(result.results))
    t["exact"].append(req.exact)
    if yields:
        t["alts"].append(float(bool(result.alternatives)))


def _report(catalog: str, suite: list[SuiteRequest], misread: int, t: dict[str, list], relaxations: int,
            named: int, wrong: list[dict]) -> ShortfallReport:
    mean = lambda xs: float(np.mean(xs)) if xs else 0.0   # noqa: E731
    return ShortfallReport(
        catalog, len(suite), dict(Counter(r.exact for r in suite)), misread, int(sum(t["violations"])),
        int(sum(t["rows"])), int(sum(t["over"])), mean(t["declared"]), mean(t["found"]), mean(t["all"]),
        sum(t["results"]) / max(1, sum(t["exact"])), relaxations, named / max(1, relaxations), wrong,
        mean(t["alts"]), float(np.percentile(t["latency"], 50)) if t["latency"] else 0.0)
