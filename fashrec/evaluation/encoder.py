"""Evaluation layer: how well an encoder understands products: zero-shot attributes and retrieval on held-out items.

Every number is computed on the evaluation items of a catalog (``fashrec.train.split.is_evaluation_item``:
the held-out and the validation slice, ~20 %), which training never sees, and next to the same numbers for a randomly initialised model of the same
architecture, so that "0.45" can be read as "far above chance" or "barely above it".

- zero-shot top-1: the image's nearest value prompt (an ensemble of templates per value, over every
  value the catalog knows for that attribute) is its true value;
- text->image P@10: queries "{color} {category} for {gender}", relevant = held-out items with exactly
  that triple, averaged over queries with at least 10 relevant items (so 1.0 is reachable);
- image->image P@10: neighbours of each held-out image (itself excluded) with the same category and
  colour, averaged over items with at least 10 such others.
"""

from __future__ import annotations

import copy
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from fashrec.catalog import Product, load_catalog
from fashrec.catalog.split import is_evaluation_item
from fashrec.encoder import OpenClipEncoder
from fashrec.encoder.prompts import attribute_prompt
from fashrec.encoder.zoo import quiet_open_clip
from fashrec.errors import CatalogError

ZERO_SHOT_ATTRIBUTES = ("category", "color", "gender", "usage")
K = 10

# Evaluation prompts, averaged per value (CLIP's prompt ensembling). Fixed here so numbers stay comparable.
EVAL_TEMPLATES: dict[str, tuple[str, ...]] = {
    "category": ("a photo of {a} {s}", "{v}"),
    "color": ("a {v} product", "{v}"),
    "gender": ("a product for {v}", "{p} fashion"),
    "usage": ("{v} wear", "{v} style"),
}

TARGETS = {"category": 0.80, "color": 0.65, "gender": 0.85, "text_to_image_p10": 0.70}


@dataclass
class AttributeAccuracy:
    accuracy: float
    items: int  # held-out items with a known value
    classes: int  # candidate values the image is matched against
    chance: float  # accuracy of always answering the most frequent value

    def to_dict(self) -> dict[str, Any]:
        return {"accuracy": round(self.accuracy, 4), "items": self.items, "classes": self.classes,
                "majority_baseline": round(self.chance, 4)}


@dataclass
class EncoderReport:
    model: str
    items: int
    zero_shot: dict[str, AttributeAccuracy] = field(default_factory=dict)
    text_to_image_p10: float | None = None
    text_queries: int = 0
    image_to_image_p10: float | None = None
    image_queries: int = 0
    failed_images: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        r = lambda x: None if x is None else round(x, 4)  # noqa: E731
        return {
            "model": self.model, "items": self.items,
            "zero_shot": {a: acc.to_dict() for a, acc in self.zero_shot.items()},
            "text_to_image_p10": r(self.text_to_image_p10), "text_queries": self.text_queries,
            "image_to_image_p10": r(self.image_to_image_p10), "image_queries": self.image_queries,
            "failed_images": self.failed_images, "seconds": round(self.seconds, 1),
        }


@dataclass
class EncoderEvaluation:
    catalog: str
    holdout_items: int
    model: EncoderReport
    random_init: EncoderReport | None
    targets: dict[str, float]

    def target_status(self) -> dict[str, dict[str, Any]]:
        values = {a: acc.accuracy for a, acc in self.model.zero_shot.items()}
        values["text_to_image_p10"] = self.model.text_to_image_p10
        return {name: {"target": t, "value": None if values.get(name) is None else round(values[name], 4),
                       "met": values.get(name) is not None and values[name] >= t}
                for name, t in self.targets.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"catalog": self.catalog, "holdout_items": self.holdout_items, "model": self.model.to_dict(),
                "random_init": self.random_init.to_dict() if self.random_init else None,
                "targets": self.target_status()}


def _value_embeddings(encoder: Any, attribute: str, values: Sequence[str]) -> np.ndarray:
    templates = EVAL_TEMPLATES.get(attribute, ("{v}",))
    total = np.zeros((len(values), encoder.dimension), dtype=np.float32)
    for template in templates:
        total += encoder.encode_texts([attribute_prompt(attribute, v, template) for v in values])
    return total / np.maximum(np.linalg.norm(total, axis=1, keepdims=True), 1e-12)


def zero_shot_accuracy(encoder: Any, image_vectors: np.ndarray, products: Sequence[Product],
                       attribute: str, candidates: Sequence[str]) -> AttributeAccuracy | None:
    truth = [p.first(attribute) for p in products]
    known = [i for i, v in enumerate(truth) if v in set(candidates)]
    if not known or len(candidates) < 2:
        return None
    prompts = _value_embeddings(encoder, attribute, candidates)
    predicted = np.argmax(image_vectors[known] @ prompts.T, axis=1)
    index = {v: i for i, v in enumerate(candidates)}
    labels = np.array([index[truth[i]] for i in known])
    majority = np.bincount(labels).max() / len(labels)
    return AttributeAccuracy(float(np.mean(predicted == labels)), len(known), len(candidates), float(majority))


def text_to_image_precision(encoder: Any, image_vectors: np.ndarray, products: Sequence[Product],
                            k: int = K) -> tuple[float | None, int]:
    """Mean P@k of "{color} {category} for {gender}" queries with at least k relevant items."""
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for i, p in enumerate(products):
        key = (p.first("color"), p.first("category"), p.first("gender"))
        if all(key):
            groups[key].append(i)
    queries = sorted(key for key, members in groups.items() if len(members) >= k)
    if not queries:
        return None, 0
    texts = [f"{color} {category} for {gender}" for color, category, gender in queries]
    query_vectors = encoder.encode_texts(texts)
    scores = query_vectors @ image_vectors.T
    top = np.argsort(-scores, axis=1)[:, :k]
    precisions = [len(set(top[q]) & set(groups[key])) / k for q, key in enumerate(queries)]
    return float(np.mean(precisions)), len(queries)


def image_to_image_precision(image_vectors: np.ndarray, products: Sequence[Product],
                             k: int = K) -> tuple[float | None, int]:
    """Mean P@k (same category and colour, self excluded) over items with at least k such others."""
    keys = [(p.first("category"), p.first("color")) for p in products]
    sizes: dict[tuple, int] = defaultdict(int)
    for key in keys:
        sizes[key] += 1
    queries = [i for i, key in enumerate(keys) if all(key) and sizes[key] - 1 >= k]
    if not queries:
        return None, 0
    precisions = []
    for start in range(0, len(queries), 512):  # blocks keep the similarity matrix small
        chunk = queries[start:start + 512]
        scores = image_vectors[chunk] @ image_vectors.T
        scores[np.arange(len(chunk)), chunk] = -np.inf
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        for row, i in enumerate(chunk):
            precisions.append(sum(keys[j] == keys[i] for j in top[row]) / k)
    return float(np.mean(precisions)), len(queries)


def evaluate_encoder(encoder: Any, products: Sequence[Product], *,
                     candidates: Mapping[str, Sequence[str]] | None = None,
                     progress: Callable[[int], None] | None = None) -> EncoderReport:
    """All numbers for one encoder on ``products`` (normally the held-out items).

    ``candidates`` lists the values each attribute is chosen among (default: the values seen in
    ``products``).
    """
    started = time.perf_counter()
    vectors, failures = encoder.encode_images_lenient([p.image_path for p in products], progress=progress)
    ok = [i for i in range(len(products)) if i not in failures]
    products = [products[i] for i in ok]
    vectors = vectors[ok]
    report = EncoderReport(model=getattr(encoder, "identifier", "?"), items=len(products),
                           failed_images=len(failures))
    for attribute in ZERO_SHOT_ATTRIBUTES:
        values = list(candidates[attribute]) if candidates and attribute in candidates else \
            sorted({p.first(attribute) for p in products if p.first(attribute)})
        result = zero_shot_accuracy(encoder, vectors, products, attribute, values)
        if result is not None:
            report.zero_shot[attribute] = result
    report.text_to_image_p10, report.text_queries = text_to_image_precision(encoder, vectors, products)
    report.image_to_image_p10, report.image_queries = image_to_image_precision(vectors, products)
    report.seconds = time.perf_counter() - started
    return report


def random_init_like(encoder: Any, *, seed: int = 0) -> Any:
    """The same architecture and preprocessing with freshly initialised weights (the chance baseline)."""
    import open_clip
    import torch

    torch.manual_seed(seed)
    baseline = copy.copy(encoder)  # shares tokenizer and preprocessing; only the weights differ
    with quiet_open_clip():
        model = open_clip.create_model(encoder.spec.open_clip_name, load_weights=False)
    model.eval()
    baseline.model = model
    baseline.identifier = f"{encoder.identifier} (random init)"
    return baseline


def evaluate_catalog(catalog: str | Path, model: str | None = None, *, baseline: bool = True,
                     progress: Callable[[int], None] | None = None,
                     on_phase: Callable[[str, int], None] | None = None) -> EncoderEvaluation:
    """Evaluate ``model`` (a fashrec model spec) on the evaluation items of ``catalog``."""

    load = load_catalog(catalog)
    holdout = [p for p in load.products if is_evaluation_item(p.id)]
    if not holdout:
        raise CatalogError(f"{catalog}: no held-out or validation products (ids whose crc32 % 10 is 0 or 1)")
    vocabulary = load.vocabulary
    candidates = {a: vocabulary.values(a) for a in ZERO_SHOT_ATTRIBUTES}
    encoder = OpenClipEncoder(model)
    if on_phase:
        on_phase(encoder.identifier, len(holdout))
    trained = evaluate_encoder(encoder, holdout, candidates=candidates, progress=progress)
    random_report = None
    if baseline:
        if on_phase:
            on_phase("random init", len(holdout))
        random_report = evaluate_encoder(random_init_like(encoder), holdout, candidates=candidates,
                                         progress=progress)
    return EncoderEvaluation(catalog=str(load.path), holdout_items=len(holdout), model=trained,
                             random_init=random_report, targets=dict(TARGETS))


def validate_model_dir(out_dir: Path, products: Sequence[Product], threads: int,
                       progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Zero-shot and retrieval numbers of a freshly trained model folder (``fashrec train``'s last step)."""
    encoder = OpenClipEncoder(str(out_dir), threads=threads)
    return evaluate_encoder(encoder, list(products), progress=progress).to_dict()
