"""Evaluation layer: `fashrec eval dialogue`: a simulated shopper steers the agent, one attribute per turn, to a hidden target.

Set-up (reproducible from ``seed``):

- **Targets** are evaluation products (``is_evaluation_item``: never trained on). They are added to the
  index the agent searches, next to every non-evaluation product, so the exact item can be found.
- **Anchors** are other evaluation products, *not* indexed (the agent only sees their picture), with the
  target's category but a different colour, gender and/or usage.
- **Each turn** the shopper compares the current top result (before turn 1: the anchor itself) with the
  target and states ONE attribute in which they differ, in templated words ("in navy blue", "for
  women", "something for sports"), checking category, gender, colour and usage in that order.
- **Success** at turn t: the top result has every identity attribute of the target (category, gender,
  colour and usage, those the target has) -- or the exact target is among the top 10.

Every strategy talks to the same shopper with the same pairs in the same run:

- ``ammr``: one session; each turn refines the accumulated plan (the dialogue this package implements).
- ``ammr-stateless``: the AMMR loop on the latest words only, from the original anchor (no memory).
- ``fusion``: the single-shot baseline -- anchor image + latest words, averaged embeddings.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from fashrec.ammr.loop import RefineOptions, Refiner
from fashrec.catalog import Product, load_catalog
from fashrec.catalog.roles import attribute_for_role
from fashrec.catalog.split import is_evaluation_item
from fashrec.catalog.wording import article, possessive, singular
from fashrec.dialogue import Dialogue, SessionStore
from fashrec.encoder import identify, load_encoder
from fashrec.errors import UsageError
from fashrec.evaluation import baselines  # noqa: F401  (registers the single-shot strategies)
from fashrec.index import MANIFEST_NAME, open_index, read_manifest
from fashrec.index.build import build_index
from fashrec.planner import Plan, create_planner

TOP = 10
STRATEGIES = ("ammr", "ammr-stateless", "fusion")
STATE_ORDER = ("category", "gender", "color", "usage")   # what the shopper mentions first
TEMPLATES = {
    "color": ("in {v}", "in {v} please", "can I get it in {v}?", "{v} instead", "I'd like it in {v}"),
    "gender": ("for {v}", "the {p} version", "do you have it for {v}?"),
    "usage": ("something for {v}", "for {v} wear", "a {v} one"),
    "category": ("I want {a} {s}", "it should be {a} {s}", "as {a} {s}"),
}


@dataclass
class Pair:
    target: Product
    anchor: Product
    differences: int          # identity attributes in which anchor and target differ


@dataclass
class TurnRecord:
    text: str
    attribute: str
    top: str | None
    success: bool
    exact: bool
    ms: float

    def to_dict(self) -> dict:
        return {**self.__dict__, "ms": round(self.ms, 1)}


@dataclass
class Trace:
    strategy: str
    target: str
    anchor: str
    differences: int
    turns: list[TurnRecord] = field(default_factory=list)

    @property
    def success_turn(self) -> int | None:
        return next((i for i, t in enumerate(self.turns, start=1) if t.success), None)

    def to_dict(self) -> dict:
        return {"strategy": self.strategy, "target": self.target, "anchor": self.anchor,
                "differences": self.differences, "success_turn": self.success_turn,
                "turns": [t.to_dict() for t in self.turns]}


@dataclass
class StrategyDialogueScore:
    strategy: str
    success_at: dict[int, float]        # cumulative: reached within t turns
    success: float                      # within --max-turns
    exact_target_hit: float             # the target itself in the top 10 at some turn
    mean_turns: float | None            # over successful dialogues
    mean_turns_capped: float            # failures count as --max-turns
    by_differences: dict[int, float]
    turn_latency_p50_ms: float
    turn_latency_p95_ms: float

    def to_dict(self) -> dict:
        r = lambda v: round(v, 4) if isinstance(v, float) else v  # noqa: E731
        return {"strategy": self.strategy, "success_at": {str(k): r(v) for k, v in self.success_at.items()},
                "success": r(self.success), "exact_target_hit": r(self.exact_target_hit),
                "mean_turns": r(self.mean_turns), "mean_turns_capped": r(self.mean_turns_capped),
                "by_differences": {str(k): r(v) for k, v in self.by_differences.items()},
                "turn_latency_p50_ms": r(self.turn_latency_p50_ms), "turn_latency_p95_ms": r(self.turn_latency_p95_ms)}


@dataclass
class DialogueEvalReport:
    catalog: str
    dialogues: int
    indexed: int
    max_turns: int
    planner: str
    identity: list[str]
    strategies: list[StrategyDialogueScore]
    load_ms: dict[str, float]
    traces: list[Trace]               # every conversation, all strategies (not in to_dict: can be long)

    @property
    def examples(self) -> list[Trace]:
        """The first two shoppers' conversations, with every strategy."""
        targets = list(dict.fromkeys(t.target for t in self.traces))[:2]
        return [t for t in self.traces if t.target in targets]

    def to_dict(self) -> dict:
        return {"catalog": self.catalog, "dialogues": self.dialogues, "indexed": self.indexed,
                "max_turns": self.max_turns, "planner": self.planner, "identity": self.identity,
                "success": "top result has the target's " + "+".join(self.identity)
                           + f", or the exact target in the top {TOP}",
                "load_ms": {k: round(v, 1) for k, v in self.load_ms.items()},
                "strategies": [s.to_dict() for s in self.strategies],
                "examples": [t.to_dict() for t in self.examples]}


# --- the simulated shopper -----------------------------------------------------------------------

class Shopper:
    """Knows the target; says what is wrong with what it was shown, one attribute at a time."""

    def __init__(self, target: Product, identity: dict[str, str], rng: random.Random) -> None:
        self.target = target
        self.identity = identity   # role -> attribute name
        self.rng = rng

    def wanted(self) -> dict[str, str]:
        return {role: v for role, attr in self.identity.items() if (v := self.target.first(attr))}

    def satisfied_by(self, product: Product | None) -> bool:
        return product is not None and all(product.first(self.identity[r]) == v for r, v in self.wanted().items())

    def complaint(self, shown: Product) -> tuple[str, str] | None:
        """(role, words) for the first identity attribute in which ``shown`` differs from the target."""
        for role in STATE_ORDER:
            value = self.wanted().get(role)
            if value is not None and shown.first(self.identity[role]) != value:
                return role, self.say(role, value)
        return None

    def say(self, role: str, value: str) -> str:
        template = self.rng.choice(TEMPLATES[role])
        noun = singular(value) if role == "category" else value
        return template.format(v=value, p=possessive(value), a=article(noun), s=noun)


def identity_attributes(products: list[Product]) -> dict[str, str]:
    names = sorted({a for p in products for a in p.attributes})
    return {role: attr for role in STATE_ORDER if (attr := attribute_for_role(names, role))}


def make_pairs(candidates: list[Product], identity: dict[str, str], n: int, seed: int) -> list[Pair]:
    """Targets and their anchors, both evaluation products; an anchor is never also a target."""
    rng = random.Random(seed)
    if "category" not in identity or len(identity) < 2:
        return []
    cat = identity["category"]
    usable = [p for p in candidates if all(p.first(a) for r, a in identity.items() if r != "usage")]
    rng.shuffle(usable)
    by_category: dict[str, list[Product]] = defaultdict(list)
    for p in usable:
        by_category[p.first(cat)].append(p)
    pairs: list[Pair] = []
    used: set[str] = set()
    for target in usable:
        if len(pairs) >= n:
            break
        if target.id in used:
            continue
        options = [a for a in by_category[target.first(cat)] if a.id not in used and a.id != target.id
                   and _differences(a, target, identity) > 0]
        if not options:
            continue
        anchor = rng.choice(options)
        used |= {target.id, anchor.id}
        pairs.append(Pair(target, anchor, _differences(anchor, target, identity)))
    return pairs


def _differences(a: Product, b: Product, identity: dict[str, str]) -> int:
    return sum(1 for r, attr in identity.items() if r != "category" and a.first(attr) != b.first(attr))


# --- running -------------------------------------------------------------------------------------

def _write_catalog(products: list[Product], path: Path) -> None:
    lines = [json.dumps({k: v for k, v in p.metadata().items() if k != "extra" and v not in (None, [], "", {})})
             for p in products]
    text = "\n".join(lines) + "\n"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _prepare_index(catalog: Path, workdir: Path, products: list[Product], model: str | None) -> Path:
    """The evaluation index; seeded from `eval refine`'s (same products but the targets) when possible."""

    workdir.mkdir(parents=True, exist_ok=True)
    folder = workdir / "index"
    refine_index = catalog.parent / f"{catalog.stem}.eval-refine" / "index"
    if not (folder / MANIFEST_NAME).exists() and (refine_index / MANIFEST_NAME).exists():
        seed_encoder = read_manifest(refine_index).encoder.get("identifier")
        if model is None or identify(model) == seed_encoder:
            shutil.copytree(refine_index, folder, dirs_exist_ok=True)  # only the targets need encoding
            (folder / ".lock").unlink(missing_ok=True)
    _write_catalog(products, workdir / "dialogue.jsonl")
    build_index(workdir / "dialogue.jsonl", folder, model=model)
    return folder


def run_pair(pair: Pair, strategy: str, refiner, identity: dict[str, str], max_turns: int, seed: int,
             k: int = TOP) -> Trace:
    """One simulated conversation of ``strategy`` with the shopper who wants ``pair.target``."""

    shopper = Shopper(pair.target, identity, random.Random(f"{seed}:{pair.target.id}"))
    trace = Trace(strategy, pair.target.id, pair.anchor.id, pair.differences)
    options = RefineOptions(k=k, strategy="fusion" if strategy == "fusion" else "ammr")
    dialogue = Dialogue(refiner, SessionStore(":memory:"), "eval", options=options) if strategy == "ammr" else None
    anchor = None if dialogue else refiner.anchor_from_image(pair.anchor.image_path)
    shown: Product = pair.anchor
    for number in range(1, max_turns + 1):
        complaint = shopper.complaint(shown)
        if complaint is None:  # nothing left to say (the result already looks right but was not counted)
            break
        role, text = complaint
        t = time.perf_counter()
        if dialogue is not None:
            outcome = dialogue.start(pair.anchor.image_path, text) if number == 1 else dialogue.say(text)
            result = outcome.result
        elif strategy == "fusion":  # single-shot: no planner, no memory
            result = refiner.refine(anchor, text, options, plan=Plan())
        else:
            result = refiner.refine(anchor, text, options)
        ms = (time.perf_counter() - t) * 1000
        products = [r.candidate.product for r in result.results][:TOP]
        top = products[0] if products else None
        exact = pair.target.id in {p.id for p in products}
        success = shopper.satisfied_by(top) or exact
        trace.turns.append(TurnRecord(text, role, top.id if top else None, success, exact, ms))
        if success:
            break
        if top is not None:
            shown = top
    return trace


def score(strategy: str, traces: list[Trace], max_turns: int) -> StrategyDialogueScore:
    turns = [t.success_turn for t in traces]
    n = max(len(traces), 1)
    successes = [s for s in turns if s is not None]
    marks = sorted({t for t in (1, 3, 5, max_turns) if t <= max_turns})
    by_diff: dict[int, list[float]] = defaultdict(list)
    for t in traces:
        by_diff[t.differences].append(float(t.success_turn is not None))
    latency = np.array([r.ms for t in traces for r in t.turns] or [0.0])
    return StrategyDialogueScore(
        strategy,
        {m: sum(1 for s in successes if s <= m) / n for m in marks},
        len(successes) / n,
        sum(1 for t in traces if any(r.exact for r in t.turns)) / n,
        float(np.mean(successes)) if successes else None,
        float(np.mean([s if s is not None else max_turns for s in turns])) if turns else float(max_turns),
        {d: round(float(np.mean(v)), 4) for d, v in sorted(by_diff.items())},
        float(np.percentile(latency, 50)), float(np.percentile(latency, 95)))


def evaluate_dialogue(
    catalog: Path, *, n: int = 50, max_turns: int = 5, seed: int = 0, strategies: tuple[str, ...] = ("ammr", "fusion"),
    planner: str = "hybrid", llm_path: str | None = None, workdir: Path | None = None, model: str | None = None,
    progress: Callable[[int], None] | None = None, k: int = TOP,
) -> DialogueEvalReport:

    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise UsageError(f"unknown strategy {', '.join(unknown)} (choose from {', '.join(STRATEGIES)})")
    catalog = Path(catalog)
    workdir = workdir or catalog.parent / f"{catalog.stem}.eval-dialogue"
    load_ms: dict[str, float] = {}
    t = time.perf_counter()
    products = load_catalog(catalog).products
    indexed = [p for p in products if not is_evaluation_item(p.id)]
    identity = identity_attributes(products)
    pairs = make_pairs([p for p in products if is_evaluation_item(p.id)], identity, n, seed)
    if not pairs:
        raise UsageError(f"no target/anchor pairs in {catalog}: it needs evaluation products sharing a category "
                         "and differing in colour, gender or usage")
    folder = _prepare_index(catalog, workdir, indexed + [p.target for p in pairs], model)
    load_ms["index_build"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    index = open_index(folder)
    encoder = load_encoder(index.encoder_spec)
    main_planner = create_planner(planner, **({"model_path": llm_path} if llm_path else {}))
    refiner = Refiner(index, encoder, main_planner,
                      fallback_planner=create_planner("rules") if planner != "rules" else None)
    load_ms["load"] = (time.perf_counter() - t) * 1000

    traces: dict[str, list[Trace]] = {s: [] for s in strategies}
    for pair in pairs:
        for strategy in strategies:
            traces[strategy].append(run_pair(pair, strategy, refiner, identity, max_turns, seed, k))
        if progress:
            progress(1)
    everything = [traces[s][i] for i in range(len(pairs)) for s in strategies]
    return DialogueEvalReport(str(catalog), len(pairs), len(index), max_turns, planner, list(identity.values()),
                              [score(s, traces[s], max_turns) for s in strategies], load_ms, everything)
