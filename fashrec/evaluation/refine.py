"""Evaluation layer: `fashrec eval refine`: a refinement benchmark built from a catalog's own attributes.

Anchors are products held out of training *and* of the evaluation index (the agent only sees their
image). Each anchor gets a templated request that changes one or two of its attributes, negates its
colour, switches its category within its family, asks for another gender, asks for a darker or lighter
shade (any colour clearly darker / lighter by the colour model's CIELAB lightness), or caps the price. The
targets are the indexed products that have the anchor's identity attributes with the requested changes
applied. Every strategy answers the same requests in the same run.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from fashrec.ammr.loop import RefineOptions, Refiner
from fashrec.ammr.relative import LIGHTNESS_STEP
from fashrec.ammr.types import Anchor, AttributeGuess, RefineResult, Unsure
from fashrec.catalog import Product, load_catalog
from fashrec.catalog.colors import color_info
from fashrec.catalog.roles import attribute_for_role
from fashrec.catalog.split import is_evaluation_item
from fashrec.catalog.wording import possessive, singular
from fashrec.encoder import load_encoder
from fashrec.evaluation import baselines  # noqa: F401  (registers the single-shot strategies)
from fashrec.evaluation.honesty import answer_honesty
from fashrec.evaluation.metrics import brand_exposure, rounded_fields
from fashrec.index import open_index
from fashrec.index.build import build_index
from fashrec.planner import Plan, create_planner

TOP = 10
# Not a strategy of its own: ammr given the anchor's catalog labels instead of its reading of the photo.
# What perfect anchor understanding would reach on the same requests (``--strategies ammr,ammr-labelled``).
LABELLED = "ammr-labelled"
# Nor this: ammr after the shopper answered the questions refine asked (each identity attribute it was too
# unsure of to keep, or with ``ask_below`` above the keep threshold also kept ones worth confirming; see
# ``RefineResult.unsure``), answered with the product's own label; the rest stays as read. What asking can
# buy at best, two turns counted as one request (``--strategies ammr,ammr-answered``).
ANSWERED = "ammr-answered"


@dataclass
class Request:
    anchor: Product
    text: str
    kind: str
    target: dict[str, str]                       # attribute -> required value
    target_not: dict[str, str] = field(default_factory=dict)  # attribute -> forbidden value
    price_max: float | None = None
    target_in: dict[str, list[str]] = field(default_factory=dict)  # attribute -> any of these values

    def matches(self, p: Product) -> bool:
        if any(v not in p.attributes.get(a, ()) for a, v in self.target.items()):
            return False
        if any(not set(vals) & set(p.attributes.get(a, ())) for a, vals in self.target_in.items()):
            return False
        if any(v in p.attributes.get(a, ()) for a, v in self.target_not.items()):
            return False
        if self.price_max is not None and (p.price is None or p.price > self.price_max):
            return False
        return True

    def to_dict(self) -> dict:
        return {"anchor": self.anchor.id, "image": str(self.anchor.image_path), "text": self.text, "kind": self.kind,
                "target": self.target, "target_not": self.target_not, "target_in": self.target_in,
                "price_max": self.price_max}


@dataclass
class StrategyScore:
    strategy: str
    precision_at_10: float
    hit_at_10: float
    anchor_preservation: float
    latency_p50_ms: float
    latency_p95_ms: float
    by_kind: dict[str, float]
    brand_exposure: dict = field(default_factory=dict)  # share of result slots per brand, and its Gini
    asked: float = 0.0   # share of requests whose answer asked about an unsure anchor attribute
    # Honesty (fashrec.evaluation.honesty): share of result rows that break a stated constraint or the
    # anchor's confident identity (must be 0 for ammr); share of answers that declare a shortfall, and
    # how many short answers did not; near misses listed per answer; and P@10 over the first 10 rows
    # shown (results, then alternatives), the list a shopper sees.
    violation_rate: float = 0.0
    shortfall_rate: float = 0.0
    undeclared_shortfalls: int = 0
    alternatives_per_answer: float = 0.0
    shown_precision_at_10: float = 0.0
    # Share of answers in which products with the photo's second reading of its category or gender
    # filled slots (too few had the likeliest; see fashrec.ammr.constraints.identity_readings).
    other_reading_rate: float = 0.0

    def to_dict(self) -> dict:
        return rounded_fields(self)


@dataclass
class RefineEvalReport:
    catalog: str
    requests: int
    indexed: int
    kinds: dict[str, int]
    strategies: list[StrategyScore]
    load_ms: dict[str, float]
    planner: str
    ask_below: float | None = None      # RefineOptions.ask_below of the ammr rows (None: the keep threshold)

    def to_dict(self) -> dict:
        return {"catalog": self.catalog, "requests": self.requests, "indexed": self.indexed, "kinds": self.kinds,
                "planner": self.planner, "ask_below": self.ask_below,
                "load_ms": {k: round(v, 1) for k, v in self.load_ms.items()},
                "strategies": [s.to_dict() for s in self.strategies]}


# --- request generation --------------------------------------------------------------------------

COLOR_TEMPLATES = ("same in {v}", "but in {v}", "can I get this in {v}?", "{v} instead", "the {v} one")
NOT_TEMPLATES = ("not {v}", "anything but {v}", "no {v} please")
CATEGORY_TEMPLATES = ("as {a} {s}", "make it {a} {s}", "I want {a} {s} instead")
GENDER_TEMPLATES = ("the {p} version", "same thing for {v}", "do you have it for {v}?")
USAGE_TEMPLATES = ("something for {v} wear", "a {v} one")
DOUBLE_TEMPLATES = ("in {c}, for {g}", "{c} and for {g}")
PRICE_TEMPLATES = ("under {p:g} {cur}", "below {p:g}", "max {p:g} {cur}")
SHADE_TEMPLATES = ("a {w} one", "in a {w} shade", "same but {w}", "{w} please")


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


class RequestMaker:
    def __init__(self, indexed: list[Product], rng: random.Random) -> None:
        self.rng = rng
        attrs = sorted({a for p in indexed for a in p.attributes})
        self.cat = attribute_for_role(attrs, "category")
        self.col = attribute_for_role(attrs, "color")
        self.gen = attribute_for_role(attrs, "gender")
        self.use = attribute_for_role(attrs, "usage")
        self.family = attribute_for_role(attrs, "subcategory") or ("subcategory" if "subcategory" in attrs else None)
        self.identity = [a for a in (self.cat, self.gen, self.col) if a]
        # Count products per (identity values) so only answerable requests are asked.
        self.counts: Counter = Counter()
        self.values: dict[str, Counter] = defaultdict(Counter)
        for p in indexed:
            key = tuple(p.first(a) for a in self.identity)
            self.counts[key] += 1
            for a in (self.cat, self.col, self.gen, self.use, self.family):
                if a and p.first(a):
                    self.values[a][p.first(a)] += 1
        self.family_of = {p.first(self.cat): p.first(self.family) for p in indexed if self.family and self.cat}
        self.indexed = indexed

    def _count(self, target: dict[str, str]) -> int:
        return self.counts[tuple(target.get(a) for a in self.identity)]

    def make(self, anchor: Product) -> Request | None:
        base = {a: anchor.first(a) for a in self.identity}
        if any(v is None for v in base.values()):
            return None
        kinds = ["color", "color", "not", "category", "gender", "double", "usage", "shade"]
        if any(p.price for p in self.indexed[:50]) and anchor.price:
            kinds.append("price")
        self.rng.shuffle(kinds)
        for kind in kinds:
            req = getattr(self, f"_{kind}")(anchor, base)
            if req is not None:
                return req
        return None

    def _pick(self, attr: str, exclude: str, target: dict[str, str]) -> str | None:
        options = [v for v in self.values[attr] if v != exclude and self._count({**target, attr: v}) >= TOP]
        return self.rng.choice(sorted(options)) if options else None

    def _color(self, anchor, base):
        v = self._pick(self.col, base[self.col], base) if self.col else None
        if v:
            return Request(anchor, self.rng.choice(COLOR_TEMPLATES).format(v=v), "color", {**base, self.col: v})

    def _not(self, anchor, base):
        if not self.col:
            return None
        target = {a: v for a, v in base.items() if a != self.col}
        others = sum(n for key, n in self.counts.items()
                     if all(key[self.identity.index(a)] == v for a, v in target.items())
                     and key[self.identity.index(self.col)] != base[self.col])
        if others < TOP:
            return None
        v = base[self.col]
        return Request(anchor, self.rng.choice(NOT_TEMPLATES).format(v=v), "not", target, {self.col: v})

    def _category(self, anchor, base):
        if not self.cat:
            return None
        fam = self.family_of.get(base[self.cat])
        options = [c for c in self.values[self.cat] if c != base[self.cat] and (not fam or self.family_of.get(c) == fam)
                   and self._count({**base, self.cat: c}) >= TOP]
        if not options:
            return None
        c = self.rng.choice(sorted(options))
        s = singular(c)
        return Request(anchor, self.rng.choice(CATEGORY_TEMPLATES).format(a=_article(s), s=s), "category",
                       {**base, self.cat: c})

    def _gender(self, anchor, base):
        v = self._pick(self.gen, base[self.gen], base) if self.gen else None
        if v and {v, base[self.gen]} <= {"men", "women"}:
            return Request(anchor, self.rng.choice(GENDER_TEMPLATES).format(v=v, p=possessive(v)), "gender",
                           {**base, self.gen: v})

    def _double(self, anchor, base):
        if not (self.col and self.gen):
            return None
        g = "women" if base[self.gen] == "men" else "men" if base[self.gen] == "women" else None
        if not g:
            return None
        c = self._pick(self.col, base[self.col], {**base, self.gen: g})
        if c:
            return Request(anchor, self.rng.choice(DOUBLE_TEMPLATES).format(c=c, g=g), "double",
                           {**base, self.col: c, self.gen: g})

    def _usage(self, anchor, base):
        if not self.use or not anchor.first(self.use):
            return None
        target_base = dict(base)
        options = [u for u in self.values[self.use] if u != anchor.first(self.use)
                   and sum(1 for p in self.indexed if p.first(self.use) == u
                           and all(p.first(a) == v for a, v in target_base.items())) >= TOP]
        if not options:
            return None
        u = self.rng.choice(sorted(options))
        return Request(anchor, self.rng.choice(USAGE_TEMPLATES).format(v=u), "usage", {**base, self.use: u})

    def _shade(self, anchor, base):
        """ "a darker one": same category and gender, any colour clearly darker (or lighter)."""

        own = color_info(base[self.col]) if self.col else None
        if own is None or own.kind == "multi":
            return None
        word = self.rng.choice(["darker", "lighter"])
        sign = -1 if word == "darker" else 1
        shades = sorted(v for v in self.values[self.col]
                        if (info := color_info(v)) is not None and info.kind != "multi"
                        and (info.lightness - own.lightness) * sign >= LIGHTNESS_STEP)
        rest = {a: v for a, v in base.items() if a != self.col}
        # "lighter than black" allows almost anything: only ask when it rules out most colours.
        if len(shades) > len(self.values[self.col]) / 3 or sum(self._count({**rest, self.col: v})
                                                                  for v in shades) < TOP:
            return None
        return Request(anchor, self.rng.choice(SHADE_TEMPLATES).format(w=word), "shade", rest,
                       target_in={self.col: shades})

    def _price(self, anchor, base):
        same = [p.price for p in self.indexed if p.price and all(p.first(a) == v for a, v in base.items())]
        if len(same) < 2 * TOP:
            return None
        cap = float(np.percentile(same, 50))
        cur = anchor.currency or ""
        return Request(anchor, self.rng.choice(PRICE_TEMPLATES).format(p=round(cap), cur=cur).strip(), "price",
                       dict(base), price_max=float(round(cap)))


def make_requests(indexed: list[Product], anchors: list[Product], n: int, seed: int) -> list[Request]:
    rng = random.Random(seed)
    maker = RequestMaker(indexed, rng)
    pool = anchors[:]
    rng.shuffle(pool)
    out: list[Request] = []
    for anchor in pool:
        req = maker.make(anchor)
        if req:
            out.append(req)
        if len(out) >= n:
            break
    return out


# --- running -------------------------------------------------------------------------------------

def split_catalog(catalog: Path, workdir: Path) -> tuple[Path, list[Product], list[Product]]:
    """Write the non-evaluation products to their own catalog (the index the agent searches)."""
    load = load_catalog(catalog)
    indexed = [p for p in load.products if not is_evaluation_item(p.id)]
    anchors = [p for p in load.products if is_evaluation_item(p.id)]
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "indexed.jsonl"
    lines = []
    for p in indexed:
        row = {k: v for k, v in p.metadata().items() if k != "extra"}
        lines.append(json.dumps({k: v for k, v in row.items() if v not in (None, [], "")}))
    text = "\n".join(lines) + "\n"
    if not out.exists() or out.read_text() != text:
        out.write_text(text)
    return out, indexed, anchors


def identity_preservation(req: Request, ids_products: list[Product], identity: list[str]) -> float:
    """Share of the anchor's identity attributes the request did not change that results kept."""
    unchanged = [a for a in identity if req.target.get(a) == req.anchor.first(a)]
    if not unchanged or not ids_products:
        return 0.0
    kept = [sum(1 for a in unchanged if p.first(a) == req.anchor.first(a)) / len(unchanged) for p in ids_products]
    return float(np.mean(kept))


def evaluate_refine(
    catalog: Path, *, n: int = 200, seed: int = 0, strategies: tuple[str, ...] = ("ammr", "image", "text", "fusion"),
    planner: str = "hybrid", llm_path: str | None = None, workdir: Path | None = None, model: str | None = None,
    progress: Callable[[int], None] | None = None, k: int = TOP, ask_below: float | None = None,
) -> RefineEvalReport:
    """Every strategy on the same ``n`` requests built from the catalog's evaluation slice."""
    catalog = Path(catalog)
    workdir = workdir or catalog.parent / f"{catalog.stem}.eval-refine"
    load_ms: dict[str, float] = {}
    t = time.perf_counter()
    indexed_catalog, indexed, anchors = split_catalog(catalog, workdir)
    build_index(indexed_catalog, workdir / "index", model=model)
    load_ms["index_build"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    index = open_index(workdir / "index")
    load_ms["index_open"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    encoder = load_encoder(index.encoder_spec, interactive=True)
    load_ms["encoder_load"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    main_planner = create_planner(planner, **({"model_path": llm_path} if llm_path else {}))
    refiner = Refiner(index, encoder, main_planner,
                      fallback_planner=create_planner("rules") if planner != "rules" else None)
    load_ms["planner_load"] = (time.perf_counter() - t) * 1000
    requests = make_requests(indexed, anchors, n, seed)
    maker_identity = RequestMaker(indexed[:1], random.Random(0)).identity if indexed else []

    per: dict[str, dict[str, list]] = {s: defaultdict(list) for s in strategies}
    for req in requests:
        t0 = time.perf_counter()
        anchor = refiner.anchor_from_image(req.anchor.image_path)
        anchor_ms = (time.perf_counter() - t0) * 1000
        plans: dict[bool, tuple[Plan, float]] = {}
        for strategy in strategies:
            result, elapsed, asked = _answer(refiner, req, anchor, strategy, plans,
                                             RefineOptions(k=k, ask_below=ask_below))
            per[strategy]["asked"].append(float(asked))
            record_answer(per[strategy], req, result, elapsed + anchor_ms, maker_identity)
        if progress:
            progress(1)

    scores = [strategy_score(strategy, per[strategy]) for strategy in strategies]
    return RefineEvalReport(str(catalog), len(requests), len(indexed), dict(Counter(r.kind for r in requests)),
                            scores, load_ms, planner, ask_below)


def _answer(refiner: Refiner, req: Request, anchor: Anchor, strategy: str, plans: dict[bool, tuple[Plan, float]],
            options: RefineOptions) -> tuple[RefineResult, float, bool]:
    """One strategy's answer to one request, its milliseconds (the plan included, the anchor not) and
    whether it asked about the anchor.

    The request is planned once per kind of anchor (as read, or labelled) and shared by the strategies."""
    labelled = strategy == LABELLED
    used = labelled_anchor(req.anchor, anchor) if labelled else anchor
    t = time.perf_counter()
    if labelled not in plans:
        plan = refiner.plan(req.text, used)
        plans[labelled] = (plan, (time.perf_counter() - t) * 1000)
        t = time.perf_counter()
    plan, plan_ms = plans[labelled]
    engine = "ammr" if strategy in (LABELLED, ANSWERED) else strategy
    result = refiner.refine(used, req.text, replace(options, strategy=engine), plan=plan)
    asked = bool(result.unsure)
    if strategy == ANSWERED and asked:
        result = refiner.refine(answered_anchor(req.anchor, anchor, result.unsure), req.text, options, plan=plan)
    return result, (time.perf_counter() - t) * 1000 + plan_ms, asked


def answered_anchor(product: Product, read: Anchor, unsure: list[Unsure]) -> Anchor:
    """The photo's anchor after the shopper named each attribute refine asked about (the product's label)."""
    attrs = dict(read.attributes)
    for question in unsure:
        label = product.first(question.attribute)
        if label:
            attrs[question.attribute] = AttributeGuess(label, 1.0, "shopper")
    return Anchor(read.vector, attrs, read.image, estimated_price=read.estimated_price)


def labelled_anchor(product: Product, read: Anchor) -> Anchor:
    """The photo's anchor, but with the product's own labels (certain) in place of what was read."""
    attrs = {a: AttributeGuess(v[0], 1.0, "labels") for a, v in product.attributes.items() if v}
    return Anchor(read.vector, attrs, read.image, estimated_price=read.estimated_price)


def record_answer(stats: dict[str, list], req: Request, result, elapsed: float, identity: list[str]) -> None:
    """One answer's measurements: precision and hits, anchor kept, latency, and its honesty."""
    products = [r.candidate.product for r in result.results][:TOP]
    good = [req.matches(p) for p in products]
    stats["precision"].append(sum(good) / TOP)
    stats["hit"].append(float(any(good)))
    stats["preservation"].append(identity_preservation(req, products, identity))
    stats["latency"].append(elapsed)
    stats[f"kind:{req.kind}"].append(sum(good) / TOP)
    stats["brands"].append([p.brand for p in products])
    shown = (products + [r.candidate.product for r in result.alternatives])[:TOP]
    stats["shown"].append(sum(req.matches(p) for p in shown) / TOP)
    honesty = answer_honesty(result)
    stats["rows"].append(honesty.rows)
    stats["violations"].append(len({pid for pid, _ in honesty.violations}))   # rows, not broken promises
    stats["declared"].append(float(honesty.declared))
    stats["undeclared"].append(int(honesty.undeclared))
    stats["alternatives"].append(len(result.alternatives))
    stats["other_reading"].append(float(honesty.other_reading > 0))


def strategy_score(strategy: str, s: dict[str, list]) -> StrategyScore:
    """One strategy's per-request measurements, summarised."""
    lat = np.array(s["latency"] or [0.0])
    return StrategyScore(
        strategy, float(np.mean(s["precision"] or [0])), float(np.mean(s["hit"] or [0])),
        float(np.mean(s["preservation"] or [0])), float(np.percentile(lat, 50)), float(np.percentile(lat, 95)),
        {key[5:]: round(float(np.mean(v)), 4) for key, v in sorted(s.items()) if key.startswith("kind:")},
        brand_exposure(s["brands"]), float(np.mean(s["asked"] or [0])),
        violation_rate=sum(s["violations"]) / max(1, sum(s["rows"])),
        shortfall_rate=float(np.mean(s["declared"] or [0])), undeclared_shortfalls=int(sum(s["undeclared"])),
        alternatives_per_answer=float(np.mean(s["alternatives"] or [0])),
        shown_precision_at_10=float(np.mean(s["shown"] or [0])),
        other_reading_rate=float(np.mean(s["other_reading"] or [0])))
