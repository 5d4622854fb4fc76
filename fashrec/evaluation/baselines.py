"""Evaluation layer: the single-shot baselines AMMR is measured against (image, text, fusion).

Each answers in one retrieval with no filters, re-planning or critic, then goes through the same
guard and explanation as AMMR so its results can be scored the same way. They register as refinement
strategies, so ``fashrec refine --strategy image|text|fusion`` and ``RefineOptions(strategy=...)`` reach
them once this module is imported.
"""

from __future__ import annotations

import time

import numpy as np

from fashrec.ammr import (
    Anchor,
    Candidate,
    RefineOptions,
    Refiner,
    RefineResult,
    ResultItem,
    Step,
    check_product,
    explain,
    passes,
    read_constraints,
    register_strategy,
)
from fashrec.ammr.compose import target_attributes, unit
from fashrec.index.filters import Filter
from fashrec.planner import Plan
from fashrec.search import blended_text_search

BASELINES = ("image", "text", "fusion")
FUSION_TEXT_WEIGHT = 0.5   # the fusion baseline's text share


def fuse(anchor_vector: np.ndarray, text_vector: np.ndarray, text_weight: float = FUSION_TEXT_WEIGHT) -> np.ndarray:
    """The single-shot fusion baseline: a weighted average of image and text embeddings."""
    return unit((1 - text_weight) * anchor_vector + text_weight * text_vector)


def single_shot(refiner: Refiner, anchor: Anchor, text: str, options: RefineOptions, *, plan: Plan | None = None,
                exclude_ids: set[str] | None = None, previous: Plan | None = None) -> RefineResult:
    """One retrieval by ``options.strategy``; every result is still checked against the plan."""
    timing: dict[str, float] = {}
    t = time.perf_counter()
    plan = plan if plan is not None else refiner.plan(text, anchor, previous=previous)
    timing["plan"] = (time.perf_counter() - t) * 1000
    personal = refiner.personalize(anchor, plan, options)
    excluded = set(exclude_ids or ()) | (personal.exclude_ids if personal else set())
    if anchor.catalog_id:
        excluded.add(anchor.catalog_id)
    t = time.perf_counter()
    flt = Filter(exclude_ids=excluded)
    pairs = _retrieve(refiner, anchor, text, options.strategy, options.k, flt)
    timing["retrieve"] = (time.perf_counter() - t) * 1000
    constraints = read_constraints(plan, anchor, refiner.index.vocabulary, keep_confidence=options.keep_confidence,
                                   resolve_wishes=False)
    results = []
    for pos, similarity in pairs:
        c = Candidate(refiner.index.products[int(pos)], int(pos), float(similarity), float(similarity))
        c.checks = check_product(c.product, refiner.index.image_vectors[c.position], constraints, refiner.prompts)
        results.append(ResultItem(c, explain(c, personal)))
    step = Step(1, "single-shot", options.strategy, flt.to_dict(), options.k, len(refiner.index), len(pairs),
                sum(passes(r.candidate.checks) for r in results), len(results))
    query = {"image": anchor.image, "text": text, "k": options.k, "strategy": options.strategy}
    return RefineResult(query, anchor, plan, [step], results, f"single-shot {options.strategy}", timing,
                        " ".join(target_attributes(anchor, plan).values()), profile=personal)


def _retrieve(refiner: Refiner, anchor: Anchor, text: str, strategy: str, k: int,
              flt: Filter) -> list[tuple[int, float]]:
    index = refiner.index
    if strategy == "image":
        found = index.nearest(anchor.vector, k, flt=flt)
        return list(zip(found.positions, found.scores))
    text_vec = refiner.encoder.encode_texts([text or ""])[0]
    if strategy == "text":
        return [(index.position(h.product.id), h.score) for h in blended_text_search(index, text_vec, k, flt)]
    found = index.nearest(fuse(anchor.vector, text_vec), k, flt=flt)
    return list(zip(found.positions, found.scores))


for _name in BASELINES:
    register_strategy(_name, single_shot, replace_existing=True)
