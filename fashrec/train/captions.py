"""Training layer: texts to train on: varied captions for a product, and prompts naming one attribute value.

Contrastive training only learns the phrasings it sees, and shoppers type anything from "navy shirt" to a
full product title, so each product gets a fresh caption every epoch: its title, or a phrase built from a
random subset of its attributes in a random template, with plural and singular nouns.
"""

from __future__ import annotations

import random
import re
from typing import Mapping, Sequence

from fashrec.catalog.wording import article, possessive, singular
from fashrec.encoder.prompts import ATTRIBUTE_TEMPLATES, attribute_prompt

# Attributes that describe how a product looks or who it is for, in the order adjectives are written.
ADJECTIVE_ORDER = ("pattern", "color", "usage", "season")

class CaptionMaker:
    """Draws one caption per call for a product's title and attributes; deterministic given ``rng``."""

    FRAMES = ("{}", "{}", "{}", "a photo of {}", "an image of {}", "{} product photo", "a picture of {}")

    def __init__(self, rng: random.Random, *, title_probability: float = 0.25) -> None:
        self.rng = rng
        self.title_probability = title_probability

    def caption(self, title: str, attributes: Mapping[str, str]) -> str:
        rng = self.rng
        title = " ".join(title.split()).lower()
        if title and rng.random() < self.title_probability:
            return self._with_title(title, attributes)
        return self._phrase(attributes) or title or "a product"

    def _with_title(self, title: str, attributes: Mapping[str, str]) -> str:
        extra = self.rng.choice(["", "", "color", "category", "usage"])
        value = attributes.get(extra) if extra else None
        return f"{title}, {value}" if value else title

    def _phrase(self, attributes: Mapping[str, str]) -> str:
        rng = self.rng
        category = attributes.get("category")
        noun = category or attributes.get("subcategory") or attributes.get("group")
        is_singular = bool(noun) and rng.random() < 0.5
        if noun and is_singular:
            noun = singular(noun)
        # Each descriptive attribute appears about half the time; colour a bit more (shoppers say it).
        keep = {"color": 0.65, "pattern": 0.5, "usage": 0.35, "season": 0.15}
        adjectives = [attributes[a] for a in ADJECTIVE_ORDER
                      if a in attributes and rng.random() < keep[a]]
        gender = attributes.get("gender")
        gender_style = rng.choice(["none", "for", "possessive"]) if gender else "none"
        if not noun and not adjectives:
            return ""
        words = " ".join(adjectives + ([noun] if noun else ["product"] if gender_style != "none" else []))
        if gender_style == "possessive":
            words = f"{possessive(gender)} {words}"
        elif gender_style == "for":
            words = f"{words} for {gender}"
        frame = rng.choice(self.FRAMES)
        if frame != "{}" and is_singular and gender_style != "possessive":
            words = f"{article(words)} {words}"
        return frame.format(words)


def attribute_prompts(attribute: str, values: Sequence[str], rng: random.Random) -> list[str]:
    """One prompt per value, all in the same randomly drawn template."""
    template = rng.choice(ATTRIBUTE_TEMPLATES.get(attribute, ("{v}",)))
    return [attribute_prompt(attribute, v, template) for v in values]


def normalize_caption(text: str) -> str:
    """Captions that differ only in case/spacing/punctuation are the same positive."""
    return re.sub(r"[^a-z0-9']+", " ", text.lower()).strip()
