"""Evaluation layer: `fashrec eval anchor`: how well the anchor stage reads photos it has never seen.

The evaluation products of a catalog (never trained on, never indexed: the split of ``eval refine``) are
read by the anchor stage's reader (:func:`fashrec.ammr.anchor.infer_attributes`) against the index of the
other products, and every reading is compared with the product's own labels. The reader runs on every
photo, also on the few whose bytes equal an indexed product's (the shipped stage would copy that
product's labels instead; how often, and how well, is reported separately as ``exact_photos``).

Per attribute the report gives:

- **accuracy**: the guess equals the label (a missing guess counts as wrong), over anchors that have a
  label for that attribute; ``coverage`` is the share that got a guess at all;
- a **calibration table**: guesses binned by confidence, with the count and accuracy in each bin, and
  the expected calibration error (ECE, count-weighted |accuracy - mean confidence|);
- **accuracy at confidence >= 0.8** and the share of labelled anchors guessed that confidently;
- the **unsure** guesses, below the keep threshold (:data:`~fashrec.ammr.constraints.KEEP_CONFIDENCE`),
  which refine does not keep but shows and asks about: their share, how often the value alone is right,
  and how often the label is among the values offered (the value and its runners-up);
- the **confusion pairs that cost most** (label -> guess, with their share of all errors).

Across attributes: the **joint** rate (category, colour and gender all right) and the milliseconds per
anchor, warm: the median time to embed one photo plus the mean time to read it.

Several readers (:data:`READERS`: the shipped settings; the baseline, which is the same reader with the
blended probability as confidence, as the stage was before the vote became the confidence; the neighbour
vote alone; the zero-shot prompts alone) are scored on the same photos in the same run, so the shipped
stage is always measured next to its predecessor and its parts.

``exact_photos`` doubles as a ceiling on what any reader can score against these labels: products whose
photos are byte-identical should carry the same labels, and the share that do not is label noise that
no reading of the pixels can undo.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from fashrec.ammr.anchor import DEFAULT_READER, ReaderSettings, infer_attributes
from fashrec.ammr.constraints import KEEP_CONFIDENCE
from fashrec.catalog import Product
from fashrec.catalog.images import file_digest
from fashrec.catalog.roles import attribute_for_role
from fashrec.encoder.prompts import AttributePrompts
from fashrec.encoder.runtime import load_query_encoder
from fashrec.evaluation.refine import split_catalog
from fashrec.index import Index, open_index
from fashrec.index.build import build_index

ROLES = ("category", "color", "gender", "usage", "season")
JOINT_ROLES = ("category", "color", "gender")
CONFIDENT = 0.8
BIN_EDGES = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0000001)
TOP_CONFUSIONS = 8
EMBED_SAMPLE = 50          # single-photo encodes timed for the per-anchor cost

# Named readers scored in one run; the first is the shipped anchor stage.
READERS: dict[str, ReaderSettings] = {
    "shipped": DEFAULT_READER,
    "baseline (blend confidence)": replace(DEFAULT_READER, confidence="blend"),
    "vote only": ReaderSettings(vote_weight=1.0),
    "zero-shot only": ReaderSettings(vote_weight=0.0),
}

# One reading of one anchor: attribute -> (value, confidence) or (value, confidence, runners-up);
# absent attributes were not guessed.
Reading = Mapping[str, tuple]


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)


@dataclass
class CalibrationBin:
    low: float
    high: float
    count: int
    accuracy: float | None
    mean_confidence: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"bin": f"{self.low:.2f}-{min(self.high, 1.0):.2f}", "count": self.count,
                "accuracy": _r(self.accuracy), "mean_confidence": _r(self.mean_confidence)}


@dataclass
class AttributeScore:
    attribute: str
    items: int                          # anchors with a label for this attribute
    accuracy: float
    coverage: float                     # share of those with any guess
    confident_accuracy: float | None    # accuracy among guesses with confidence >= CONFIDENT
    confident_share: float              # share of labelled anchors guessed with confidence >= CONFIDENT
    ece: float
    calibration: list[CalibrationBin] = field(default_factory=list)
    confusions: list[tuple[str, str, int, float]] = field(default_factory=list)
    unsure_share: float = 0.0            # share of labelled anchors guessed below the keep threshold
    unsure_accuracy: float | None = None # the value alone right, among those
    unsure_offered: float | None = None  # the label among the values offered (value and runners-up)
    unsure_options: float | None = None  # mean number of values offered
    kept_wrong: float = 0.0              # share of labelled anchors whose guess is kept (not asked) and wrong

    def to_dict(self) -> dict[str, Any]:
        return {"attribute": self.attribute, "items": self.items, "accuracy": _r(self.accuracy),
                "coverage": _r(self.coverage), "confident_accuracy": _r(self.confident_accuracy),
                "confident_share": _r(self.confident_share), "ece": _r(self.ece),
                "unsure": {"threshold": KEEP_CONFIDENCE, "share": _r(self.unsure_share),
                           "accuracy": _r(self.unsure_accuracy), "offered_contains_label": _r(self.unsure_offered),
                           "mean_options": _r(self.unsure_options, 2), "kept_wrong": _r(self.kept_wrong)},
                "calibration": [b.to_dict() for b in self.calibration],
                "confusions": [{"label": t, "guess": g, "count": n, "share_of_errors": _r(s)}
                               for t, g, n, s in self.confusions]}


@dataclass
class ReaderReport:
    reader: str
    settings: dict[str, Any]
    anchors: int
    attributes: dict[str, AttributeScore]
    joint: float | None
    joint_items: int
    read_ms: float | None = None        # mean time to read one embedded photo
    read_p95_ms: float | None = None
    # Share of those anchors with at least one of the joint attributes kept (read at or above the keep
    # threshold, so neither shown as unsure nor asked about) and wrong: what refine gets silently wrong.
    joint_kept_wrong: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"reader": self.reader, "settings": self.settings, "anchors": self.anchors,
                "joint": _r(self.joint), "joint_items": self.joint_items,
                "joint_kept_wrong": _r(self.joint_kept_wrong), "read_ms": _r(self.read_ms, 3),
                "read_p95_ms": _r(self.read_p95_ms, 3),
                "attributes": {a: s.to_dict() for a, s in self.attributes.items()}}


@dataclass
class ExactPhotos:
    """Anchors whose photo bytes equal an indexed product's, and how often the two carry the same labels."""

    anchors: int
    agreement: dict[str, float | None]   # attribute -> share of those pairs with equal labels
    joint_agreement: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"anchors": self.anchors, "agreement": {a: _r(v) for a, v in self.agreement.items()},
                "joint_agreement": _r(self.joint_agreement)}


@dataclass
class AnchorEvalReport:
    catalog: str
    indexed: int
    anchors: int
    unreadable: int                      # anchors whose photo could not be decoded (not scored)
    attributes: list[str]                # the catalog's attribute names for ROLES, in that order
    joint: list[str]
    embed_ms: float                      # median time to embed one photo, warm
    readers: list[ReaderReport]
    exact_photos: ExactPhotos
    load_ms: dict[str, float] = field(default_factory=dict)
    runtime: str = "torch"               # the encoder runtime that embedded the photos (as queries do)

    def ms_per_anchor(self, reader: ReaderReport) -> float | None:
        return None if reader.read_ms is None else self.embed_ms + reader.read_ms

    def to_dict(self) -> dict[str, Any]:
        readers = []
        for r in self.readers:
            d = r.to_dict()
            d["ms_per_anchor"] = _r(self.ms_per_anchor(r), 2)
            readers.append(d)
        return {"catalog": self.catalog, "indexed": self.indexed, "anchors": self.anchors,
                "unreadable": self.unreadable, "attributes": self.attributes, "joint": self.joint,
                "confident_threshold": CONFIDENT, "runtime": self.runtime, "embed_ms": _r(self.embed_ms, 2),
                "readers": readers,
                "exact_photos": self.exact_photos.to_dict(),
                "load_ms": {k: round(v, 1) for k, v in self.load_ms.items()}}


# --- scoring -------------------------------------------------------------------------------------

def calibration_table(confidence: np.ndarray, correct: np.ndarray,
                      edges: Sequence[float] = BIN_EDGES) -> tuple[list[CalibrationBin], float]:
    """Bins of confidence with their accuracy; and the count-weighted expected calibration error."""
    bins, ece = [], 0.0
    total = max(len(confidence), 1)
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (confidence >= low) & (confidence < high)
        n = int(inside.sum())
        acc = float(correct[inside].mean()) if n else None
        conf = float(confidence[inside].mean()) if n else None
        if n:
            ece += n / total * abs(acc - conf)
        bins.append(CalibrationBin(low, high, n, acc, conf))
    return bins, ece


def score_attribute(attribute: str, truth: Sequence[str | None], guesses: Sequence[tuple | None],
                    *, top: int = TOP_CONFUSIONS, keep: float = KEEP_CONFIDENCE) -> AttributeScore | None:
    """One attribute's accuracy, calibration and costliest confusions (None when nothing is labelled)."""
    labelled = [i for i, t in enumerate(truth) if t]
    if not labelled:
        return None
    guessed = [i for i in labelled if guesses[i] is not None]
    right = sum(1 for i in guessed if guesses[i][0] == truth[i])
    conf = np.array([guesses[i][1] for i in guessed], dtype=np.float64)
    correct = np.array([guesses[i][0] == truth[i] for i in guessed], dtype=bool)
    table, ece = calibration_table(conf, correct)
    confident = conf >= CONFIDENT
    errors = Counter((truth[i], guesses[i][0]) for i in guessed if guesses[i][0] != truth[i])
    n_errors = max(len(labelled) - right, 1)      # unguessed anchors are errors too
    pairs = [(t, g, n, n / n_errors) for (t, g), n in errors.most_common(top)]
    unsure = [i for i in guessed if guesses[i][1] < keep]
    offered = [(guesses[i][0], *(v for v, _ in (guesses[i][2] if len(guesses[i]) > 2 else ()))) for i in unsure]
    return AttributeScore(
        attribute=attribute, items=len(labelled), accuracy=right / len(labelled),
        coverage=len(guessed) / len(labelled),
        confident_accuracy=float(correct[confident].mean()) if confident.any() else None,
        confident_share=float(confident.sum()) / len(labelled), ece=ece, calibration=table, confusions=pairs,
        unsure_share=len(unsure) / len(labelled),
        unsure_accuracy=float(np.mean([guesses[i][0] == truth[i] for i in unsure])) if unsure else None,
        unsure_offered=float(np.mean([truth[i] in o for i, o in zip(unsure, offered)])) if unsure else None,
        unsure_options=float(np.mean([len(o) for o in offered])) if unsure else None,
        kept_wrong=sum(1 for i in guessed if guesses[i][1] >= keep and guesses[i][0] != truth[i]) / len(labelled))


def score_readings(reader: str, truth: Sequence[Mapping[str, str | None]], readings: Sequence[Reading], *,
                   attributes: Sequence[str], joint: Sequence[str], milliseconds: Sequence[float] | None = None,
                   settings: Mapping[str, Any] | None = None) -> ReaderReport:
    """Score one reader's readings of the anchors against their labels (``truth[i][attribute]``)."""
    if len(truth) != len(readings):
        raise ValueError("one reading per anchor is needed")
    scores: dict[str, AttributeScore] = {}
    for attr in attributes:
        s = score_attribute(attr, [t.get(attr) for t in truth], [r.get(attr) for r in readings])
        if s is not None:
            scores[attr] = s
    both = [i for i, t in enumerate(truth) if joint and all(t.get(a) for a in joint)]
    joint_rate = kept_wrong = None
    if both:
        joint_rate = float(np.mean([all(readings[i].get(a) is not None and readings[i][a][0] == truth[i][a]
                                        for a in joint) for i in both]))
        kept_wrong = float(np.mean([any((g := readings[i].get(a)) is not None and g[1] >= KEEP_CONFIDENCE
                                        and g[0] != truth[i][a] for a in joint) for i in both]))
    ms = np.asarray(milliseconds, dtype=np.float64) if milliseconds is not None and len(milliseconds) else None
    return ReaderReport(reader, dict(settings or {}), len(truth), scores, joint_rate, len(both),
                        None if ms is None else float(ms.mean()),
                        None if ms is None else float(np.percentile(ms, 95)), kept_wrong)


def exact_photo_agreement(index: Index, anchors: Sequence[Product], attributes: Sequence[str],
                          joint: Sequence[str]) -> ExactPhotos:
    """How often an anchor and the indexed product with the very same photo bytes share each label."""
    pairs = []
    for anchor in anchors:
        try:
            pos = index.position_of_image(file_digest(Path(anchor.image_path)))
        except OSError:
            pos = None
        if pos is not None:
            pairs.append((anchor, index.products[pos]))

    def agree(attrs: Sequence[str]) -> float | None:
        both = [(a, p) for a, p in pairs if all(a.first(x) and p.first(x) for x in attrs)]
        return float(np.mean([all(a.first(x) == p.first(x) for x in attrs) for a, p in both])) if both else None

    return ExactPhotos(len(pairs), {a: agree([a]) for a in attributes}, agree(joint) if joint else None)


# --- running -------------------------------------------------------------------------------------

def read_all(index: Index, vectors: np.ndarray, prompts: AttributePrompts,
             settings: ReaderSettings) -> tuple[list[dict[str, tuple]], list[float]]:
    """Every anchor vector read with ``settings``; (readings, milliseconds per reading)."""
    readings, ms = [], []
    for vector in vectors:
        t = time.perf_counter()
        guesses = infer_attributes(index, vector, prompts, settings=settings)
        ms.append((time.perf_counter() - t) * 1000)
        readings.append({a: (g.value, g.confidence, g.alternatives) for a, g in guesses.items()})
    return readings, ms


def _embed_ms(encoder, paths: Sequence[Path], sample: int) -> float:
    """Median time to embed one photo, warm (the anchor stage embeds its photo alone)."""
    if not paths:
        return 0.0
    encoder.encode_images([paths[0]])       # warm-up
    times = []
    for path in paths[:sample]:
        t = time.perf_counter()
        encoder.encode_images([path])
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times))


def evaluate_anchor(
    catalog: Path, *, n: int | None = None, seed: int = 0, workdir: Path | None = None, model: str | None = None,
    readers: Mapping[str, ReaderSettings] | None = None, progress: Callable[[int], None] | None = None,
    embed_sample: int = EMBED_SAMPLE,
) -> AnchorEvalReport:
    """Read the catalog's evaluation photos with every reader; ``n`` limits them to a seeded sample."""
    catalog = Path(catalog)
    readers = dict(readers or READERS)
    workdir = workdir or catalog.parent / f"{catalog.stem}.eval-refine"
    load_ms: dict[str, float] = {}
    t = time.perf_counter()
    indexed_catalog, indexed, anchors = split_catalog(catalog, workdir)
    build_index(indexed_catalog, workdir / "index", model=model)
    index = open_index(workdir / "index")
    # The runtime a query uses (the ONNX export when verified, else torch), so ms/anchor is what refine pays.
    loaded = load_query_encoder(index.encoder_spec, identifier=index.encoder_identifier, interactive=True)
    encoder = loaded.encoder
    load_ms["index_and_encoder"] = (time.perf_counter() - t) * 1000
    if n is not None and n < len(anchors):
        anchors = random.Random(seed).sample(anchors, n)
    names = index.vocabulary.attributes()
    attributes = [a for a in (attribute_for_role(names, r) for r in ROLES) if a]
    joint = [a for a in (attribute_for_role(names, r) for r in JOINT_ROLES) if a]

    t = time.perf_counter()
    vectors, failures = encoder.encode_images_lenient([p.image_path for p in anchors])
    readable = [i for i in range(len(anchors)) if i not in failures]
    anchors, vectors = [anchors[i] for i in readable], vectors[readable]
    load_ms["encode_anchors"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    prompts = AttributePrompts(index, encoder)
    for attr in names:            # prompt embeddings are built once per index, not per anchor
        prompts.table(attr)
    load_ms["prompts"] = (time.perf_counter() - t) * 1000

    truth = [{a: p.first(a) for a in attributes} for p in anchors]
    reports = []
    for name, settings in readers.items():
        readings, ms = read_all(index, vectors, prompts, settings)
        reports.append(score_readings(name, truth, readings, attributes=attributes, joint=joint, milliseconds=ms,
                                      settings=asdict(settings)))
        if progress:
            progress(1)
    embed = _embed_ms(encoder, [p.image_path for p in anchors], embed_sample)
    return AnchorEvalReport(str(catalog), len(indexed), len(anchors), len(failures), attributes, joint, embed,
                            reports, exact_photo_agreement(index, anchors, attributes, joint), load_ms,
                            runtime=loaded.runtime)
