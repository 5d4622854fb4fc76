"""Encoder layer: zero-shot attribute recognition, one averaged text embedding per attribute value.

Used twice in the pipeline: to infer the anchor's attributes, and by the attribute guard to check
products whose metadata lacks an attribute. Prompt embeddings are computed once per index+encoder: by ``fashrec index``, which stores them in the
index (they depend only on its vocabulary and the encoder), or on first use for a view that has none.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

from fashrec.catalog.product import Product
from fashrec.catalog.roles import attribute_for_role, role_of
from fashrec.catalog.vocabulary import CatalogView
from fashrec.catalog.wording import article, possessive, singular
from fashrec.encoder.interface import Encoder

# Softmax temperature over cosine similarities (CLIP's learned scale is ~100).
LOGIT_SCALE = 50.0
MAX_VALUES = 400  # attributes with more values than this (free text, ids) are not zero-shot checked
# An attribute applies to a category when at least this share of the catalog's products of that
# category carry it: trousers have no sleeve, so a trousers photo is never checked for "short sleeve".
APPLIES_MIN_SHARE = 0.2


# Prompts that name one value of one attribute. Training draws a random template per step; zero-shot
# recognition averages them all; the encoder evaluation uses its own fixed ensemble
# (fashrec.evaluation.encoder).
ATTRIBUTE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "category": ("{v}", "{s}", "a photo of {a} {s}", "a product photo of {a} {s}", "{v} for sale",
                 "an image of {v}", "a picture of {a} {s}"),
    "color": ("{v}", "{v} color", "a {v} product", "something {v}", "a photo of a {v} item",
              "{v} coloured", "in {v}"),
    "gender": ("for {v}", "{p} fashion", "a product for {v}", "{p}", "made for {v}", "{p} wear"),
    "usage": ("{v} wear", "{v}", "for {v} use", "a {v} style product", "{v} style"),
    "season": ("{v} wear", "for {v}", "{v} collection", "{v}"),
    "pattern": ("{v}", "{v} pattern", "a {v} item", "{v} design"),
}


def attribute_prompt(attribute: str, value: str, template: str) -> str:
    s = singular(value)
    return template.format(v=value, s=s, a=article(s), p=possessive(value))


def prompt_texts(attribute: str, value: str) -> list[str]:
    role = role_of(attribute) or attribute
    templates = ATTRIBUTE_TEMPLATES.get(role, ("{v}", "a photo of {v}"))
    return [attribute_prompt(role, value, t) for t in templates]


def prompt_key(identifier: str, attribute: str, values: list[str]) -> str:
    """What a prompt table depends on: the encoder and every prompt text (so a template edit, or a
    vocabulary change, never reuses a stale table)."""
    texts = [prompt_texts(attribute, v) for v in values]
    return hashlib.sha256(json.dumps([identifier, attribute, texts]).encode()).hexdigest()


def prompt_matrix(encoder: Encoder, attribute: str, values: list[str]) -> np.ndarray:
    """One unit vector per value: the mean of its prompts' text embeddings, renormalised."""
    texts = [prompt_texts(attribute, v) for v in values]
    flat = [t for group in texts for t in group]
    emb = encoder.encode_texts(flat)
    out = np.zeros((len(values), emb.shape[1]), np.float32)
    start = 0
    for i, group in enumerate(texts):
        mean = emb[start:start + len(group)].mean(axis=0)
        out[i] = mean / max(np.linalg.norm(mean), 1e-12)
        start += len(group)
    return out


@dataclass
class AttributePrompts:
    index: CatalogView      # the index (or any products + vocabulary) whose values are recognised
    encoder: Encoder
    _cache: dict[str, tuple[list[str], np.ndarray]] = field(default_factory=dict)
    _applies: dict[str, set[str] | None] = field(default_factory=dict)
    _category: str | None = None     # the catalog's category attribute, found on first use

    def applies(self, attribute: str, product: Product) -> bool:
        """Whether ``attribute`` means anything for this product's category (see APPLIES_MIN_SHARE).

        Products without a category, and catalogs without one, are given the benefit of the doubt.
        """
        if attribute not in self._applies:
            self._applies[attribute] = self._categories_with(attribute)
        categories = self._applies[attribute]
        if categories is None:
            return True
        category = product.first(self._category) if self._category else None
        return category is None or category in categories

    def _categories_with(self, attribute: str) -> set[str] | None:
        self._category = attribute_for_role(self.index.vocabulary.attributes(), "category")
        if self._category is None or attribute == self._category:
            return None
        counts = self.index.carrying(attribute, by=self._category)
        return {c for c, (n, carrying) in counts.items() if carrying >= APPLIES_MIN_SHARE * n}

    def table(self, attribute: str) -> tuple[list[str], np.ndarray] | None:
        """(values, matrix of unit prompt embeddings) for an attribute, or None if not checkable."""
        if attribute not in self._cache:
            values = self.index.vocabulary.values(attribute)
            if not values or len(values) > MAX_VALUES:
                self._cache[attribute] = ([], np.zeros((0, self.encoder.dimension), np.float32))
            else:
                # An index stores the tables its build embedded (~1,500 texts for the 35k catalog).
                stored = self.index.prompt_table(attribute, prompt_key(self.encoder.identifier, attribute, values))
                if stored is None or stored.shape != (len(values), self.encoder.dimension):
                    stored = prompt_matrix(self.encoder, attribute, values)
                self._cache[attribute] = (values, stored)
        values, matrix = self._cache[attribute]
        return (values, matrix) if values else None

    def probabilities(self, attribute: str, vector: np.ndarray) -> dict[str, float]:
        table = self.table(attribute)
        if table is None:
            return {}
        values, matrix = table
        logits = LOGIT_SCALE * (matrix @ vector)
        logits -= logits.max()
        p = np.exp(logits)
        p /= p.sum()
        return {v: float(x) for v, x in zip(values, p)}

    def value_vector(self, attribute: str, value: str) -> np.ndarray | None:
        table = self.table(attribute)
        if table is None or value not in table[0]:
            return None
        return table[1][table[0].index(value)]
