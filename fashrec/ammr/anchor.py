"""AMMR stage 1, anchor understanding: embed the anchor image and infer its attributes.

The anchor need not be in the catalog. Its attributes come from a similarity-weighted vote of its
nearest catalog neighbours combined with zero-shot prompts; an anchor that *is* a catalog product
(same picture) simply takes that product's metadata. What was read can be corrected by the shopper
(:func:`correct_anchor`, the CLI's and the page's ``anchor`` corrections); a correction is then a stated
constraint, never relaxed to fill an answer (:func:`keep_corrected`). A photo's price, for "cheaper", is
estimated from its nearest look-alikes of the same category and gender, and says so
(:func:`estimate_price`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from fashrec.ammr.constraints import KEEP_CONFIDENCE
from fashrec.ammr.retrieve import FILTERABLE_COVERAGE
from fashrec.ammr.types import SHOPPER, Anchor, AttributeGuess
from fashrec.catalog.images import file_digest
from fashrec.catalog.product import normalize_key, normalize_value
from fashrec.catalog.roles import is_identity, role_of
from fashrec.catalog.wording import plural_noun
from fashrec.encoder.prompts import AttributePrompts
from fashrec.errors import NotFoundError, UsageError
from fashrec.index import Index
from fashrec.index.filters import Filter
from fashrec.planner import Plan

NEIGHBOURS = 15
VOTE_TEMPERATURE = 0.05
VOTE_WEIGHT = 0.65        # the rest goes to zero-shot prompts
MIN_COVERAGE = 0.5        # infer an attribute only if most neighbours have it at all
# Runners-up a guess carries (what an unsure reading offers to choose from): at most this many, each
# backed by at least this share. On 4,428 unseen photos, among guesses under the keep threshold the value
# alone was right for 41 % of colours, 44 % of categories and 41 % of genders, and the label was among
# the value and its runners-up for 72 %, 81 % and 95 % (`fashrec eval anchor`, "unsure").
ALTERNATIVES = 2
ALTERNATIVE_SHARE = 0.1
# A price estimate needs at least this many priced look-alikes of the anchor's kind (else a wider kind).
MIN_PRICED_LOOKALIKES = 5


@dataclass(frozen=True)
class ReaderSettings:
    """How :func:`infer_attributes` reads a photo: the neighbour vote, the zero-shot prompts, their blend.

    ``vote_weight`` 1.0 is the vote alone, 0.0 the prompts alone; ``fashrec eval anchor`` scores such
    variants next to the shipped default in one run.
    """

    neighbours: int = NEIGHBOURS
    temperature: float = VOTE_TEMPERATURE
    vote_weight: float = VOTE_WEIGHT
    # What a guess's confidence is: "vote", the share of the neighbours' vote that backs the chosen value,
    # or "blend", its blended probability. The blend picks values better; the vote says better how often
    # they are right (on 4,428 unseen photos, guesses at >= 0.8 were right 91-96 % of the time by the
    # vote and 89-95 % by the blend; `fashrec eval anchor` measures both).
    confidence: str = "vote"


DEFAULT_READER = ReaderSettings()


def infer_attributes(index: Index, vector: np.ndarray, prompts: AttributePrompts | None,
                     *, neighbours: int | None = None,
                     settings: ReaderSettings = DEFAULT_READER) -> dict[str, AttributeGuess]:
    found = index.nearest(vector, neighbours or settings.neighbours)
    if found.positions.size == 0:
        return {}
    weights = np.exp((found.scores - found.scores.max()) / settings.temperature)
    neighbour_attrs = [p.attributes for p in index.products_at(found.positions)]
    guesses: dict[str, AttributeGuess] = {}
    for attr in index.vocabulary.attributes():
        votes = _vote(attr, neighbour_attrs, weights)
        if votes is None:
            continue
        guess = _blend(attr, votes, prompts, vector, settings)
        if guess is not None:
            guesses[attr] = guess
    return guesses


def _vote(attr: str, neighbour_attrs: list[dict], weights: np.ndarray) -> dict[str, float] | None:
    """The neighbours' similarity-weighted vote on one attribute, or None when too few have it at all."""
    votes: dict[str, float] = {}
    covered = 0.0
    for attrs, w in zip(neighbour_attrs, weights):
        vals = attrs.get(attr)
        if vals:
            covered += w
            for v in vals:
                votes[v] = votes.get(v, 0.0) + w / len(vals)
    if covered < MIN_COVERAGE * weights.sum():
        return None
    return {v: s / covered for v, s in votes.items()}


def _blend(attr: str, votes: dict[str, float], prompts: AttributePrompts | None, vector: np.ndarray,
           settings: ReaderSettings) -> AttributeGuess | None:
    weight = settings.vote_weight
    zero_shot = prompts.probabilities(attr, vector) if prompts and weight < 1.0 else {}
    if not zero_shot:
        dist, source = votes, "neighbours"
    elif weight <= 0.0:
        dist, source = zero_shot, "zero-shot"
    else:
        candidates = set(votes) | {v for v, p in zero_shot.items() if p > 0.05}
        dist = {v: weight * votes.get(v, 0.0) + (1 - weight) * zero_shot.get(v, 0.0) for v in candidates}
        source = "neighbours+zero-shot"
    if not dist:
        return None
    value, conf = max(dist.items(), key=lambda kv: kv[1])
    scale = dist
    if settings.confidence == "vote" and source == "neighbours+zero-shot":
        conf, scale = votes.get(value, 0.0), votes
    return AttributeGuess(value, float(conf), source, _runners_up(scale, value))


def _runners_up(scale: dict[str, float], chosen: str) -> tuple[tuple[str, float], ...]:
    """The likeliest other values on the confidence's own scale, so an unsure guess can offer them."""
    others = sorted(((v, p) for v, p in scale.items() if v != chosen and p >= ALTERNATIVE_SHARE),
                    key=lambda kv: -kv[1])
    return tuple((v, float(p)) for v, p in others[:ALTERNATIVES])


def understand_anchor(index: Index, vector: np.ndarray, prompts: AttributePrompts | None,
                      *, image: str | Path | None = None) -> Anchor:
    if image is not None:
        try:
            position = index.position_of_image(file_digest(Path(image)))
        except OSError:
            position = None
        if position is not None:  # the very same photo as a catalog product: trust its metadata
            anchor = anchor_from_product(index, index.products[position].id)
            anchor.vector, anchor.image = vector, str(image)
            return anchor
    attributes = infer_attributes(index, vector, prompts)
    estimate, basis = estimate_price(index, vector, attributes)
    return Anchor(vector, attributes, str(image) if image else None, estimated_price=estimate, price_basis=basis)


# How far "not like this one" pushes the anchor's direction away from a photo (Rocchio's negative weight;
# 0.5 sits in the range the relevance-feedback literature uses, not tuned here).
UNLIKE_WEIGHT = 0.5


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def blend_anchors(index: Index, anchors: list[Anchor], unlike: list[np.ndarray] | None = None) -> Anchor:
    """One anchor for "like these, not like those": the mean direction of ``anchors`` pushed away from
    ``unlike`` (image vectors). Only what every anchor agrees on is kept (at the least sure reading):
    two shirts in different colours keep "shirt" and leave the colour open. The first anchor gives the
    image and the price that "cheaper" is measured from."""
    if not anchors:
        raise UsageError("give at least one anchor image")
    first = anchors[0]
    vector = np.mean([_unit(np.asarray(a.vector, dtype=np.float32)) for a in anchors], axis=0)
    if unlike:
        vector = vector - UNLIKE_WEIGHT * np.mean([_unit(np.asarray(v, dtype=np.float32)) for v in unlike], axis=0)
    vector = _unit(vector).astype(np.float32)
    if len(anchors) == 1:
        attributes = dict(first.attributes)
    else:
        attributes = {attr: replace(guess, confidence=min(a.attributes[attr].confidence for a in anchors),
                                    alternatives=())
                      for attr, guess in first.attributes.items()
                      if all(attr in a.attributes and a.attributes[attr].value == guess.value for a in anchors[1:])}
    return Anchor(vector, attributes, first.image, first.catalog_id if len(anchors) == 1 else None, first.price,
                  estimated_price=first.estimated_price if first.price is None else None,
                  price_basis=first.price_basis if first.price is None else None)


def estimate_price(index: Index, vector: np.ndarray, attributes: dict[str, AttributeGuess] | None = None,
                   *, neighbours: int = NEIGHBOURS) -> tuple[float | None, str | None]:
    """(estimate, basis): the median price of the anchor's nearest priced look-alikes of the same kind.

    "Same kind" is the category and gender as read (from :data:`KEEP_CONFIDENCE` up: a price is only
    an estimate, and the basis names the kind it used); when fewer than
    :data:`MIN_PRICED_LOOKALIKES` of those have a price, the gender goes, then the category (and the
    basis says so). None when the catalog prices too few look-alikes to say anything.
    """
    priced = index.mask(Filter(price_min=0.0))
    if priced is None or not priced.any():
        return None, None                    # a catalog without prices: nothing to estimate from
    kind = {a: g.value for a, g in (attributes or {}).items()
            if is_identity(a) and g.confidence >= KEEP_CONFIDENCE and index.coverage(a) >= FILTERABLE_COVERAGE}
    ordered = sorted(kind, key=lambda a: role_of(a) != "category")          # category first, gender dropped first
    for size in range(len(ordered), -1, -1):
        same = {a: kind[a] for a in ordered[:size]}
        found = index.nearest(vector, neighbours, flt=Filter(include={a: {v} for a, v in same.items()}, price_min=0.0))
        prices = [p.price for p in index.products_at(found.positions) if p.price is not None]
        if len(prices) >= min(MIN_PRICED_LOOKALIKES, neighbours):
            return round(float(np.median(prices)), 2), _basis(prices, same, index.currency)
    return None, None


def _basis(prices: list[float], same: dict[str, str], currency: str | None) -> str:
    category = next((v for a, v in same.items() if role_of(a) == "category"), None)
    gender = next((v for a, v in same.items() if role_of(a) == "gender"), None)
    kind = plural_noun(category) if category else "products of any kind"
    if gender:
        kind += f" for {gender}"
    spread = f"{min(prices):g}-{max(prices):g}" + (f" {currency}" if currency else "")
    return f"median of the {len(prices)} nearest {kind} with a price, {spread}"


def anchor_from_product(index: Index, product_id: str) -> Anchor:
    """A catalog product as the anchor (dialogue: "more like the third one")."""
    pos = index.position(product_id)
    if pos is None:
        raise NotFoundError.product(product_id)
    product = index.products[pos]
    attrs = {a: AttributeGuess(v[0], 1.0, "catalog") for a, v in product.attributes.items() if v}
    return Anchor(np.array(index.image_vectors[pos], dtype=np.float32), attrs, str(product.image_path), product.id, product.price)


def correct_anchor(anchor: Anchor, edits: dict[str, str], index: Index) -> Anchor:
    """The anchor with what was read from it corrected, ``{"category": "dress"}``: the shopper's word is
    certain. Attributes and values must be the catalog's own."""
    if not edits:
        return anchor
    vocabulary = index.vocabulary
    attributes = dict(anchor.attributes)
    for raw_attr, raw_value in edits.items():
        attr, value = normalize_key(raw_attr), normalize_value(raw_value)
        if attr not in vocabulary.attributes():
            raise UsageError(f"anchor: unknown attribute '{raw_attr}' (known: {', '.join(vocabulary.attributes())})")
        if not vocabulary.has(attr, value):
            raise UsageError(f"anchor: the catalog has no {attr} '{raw_value}'",
                             hint=f"{attr} is one of: {', '.join(vocabulary.values(attr)[:12])}")
        before = attributes.get(attr)    # the photo's reading stays visible next to the correction
        guessed = before.guessed if before is not None and before.source == SHOPPER else before
        attributes[attr] = AttributeGuess(value, 1.0, SHOPPER, guessed=guessed)
    corrected = replace(anchor, attributes=attributes)
    if anchor.price is None and anchor.vector is not None:   # a photo: what it is decides its look-alikes
        corrected.estimated_price, corrected.price_basis = estimate_price(index, anchor.vector, attributes)
    return corrected


def keep_corrected(plan: Plan, anchor: Anchor) -> Plan:
    """``plan`` keeping the attributes the shopper corrected (unless the request changes them): a
    correction is said, so like "same colour" it holds for every step of the answer."""
    said = set(plan.keep) | set(plan.set) | set(plan.exclude) | set(plan.drop)
    corrected = [a for a, guess in anchor.attributes.items() if guess.source == SHOPPER and a not in said]
    return replace(plan, keep=[*plan.keep, *corrected]) if corrected else plan
