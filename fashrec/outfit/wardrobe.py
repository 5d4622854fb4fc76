"""Outfit layer: what the outfit rules need to know about every product of an index, computed once per index.

A catalog may call its attributes anything ("colour", "base_colour", "articleType"); the roles in
:mod:`fashrec.concepts` say which attribute holds the category, colour, gender, usage and season.
Each product becomes a :class:`Traits` record (its garment group, canonical gender/usage/season and
resolved colour); the per-product values are also kept as small integer codes so that a request can
score thousands of candidates with table lookups instead of Python loops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from fashrec.catalog.colors import ColorInfo, color_info
from fashrec.catalog.roles import attribute_for_role
from fashrec.index import Index
from fashrec.outfit.harmony import harmony
from fashrec.outfit.slots import SlotDefinition, category_key

# Catalog categories that are denim whatever their colour attribute says.
DENIM_CATEGORIES = {category_key(c) for c in ("jeans", "jeggings", "denim", "denim shorts", "denim skirt")}
STYLE_CALIBRATION_PAIRS = 3000


@dataclass(frozen=True)
class RoleNames:
    """The catalog's attribute name for each role the outfit rules read (None when absent)."""

    category: str | None = None
    color: str | None = None
    gender: str | None = None
    usage: str | None = None
    season: str | None = None
    material: str | None = None

    @classmethod
    def of(cls, attributes: list[str]) -> "RoleNames":
        return cls(*(attribute_for_role(attributes, role) for role in
                     ("category", "color", "gender", "usage", "season", "material")))


@dataclass(frozen=True)
class Traits:
    """One garment as the outfit rules see it."""

    group: str | None
    category: str | None
    gender: str | None
    usage: str | None
    season: str | None
    color: ColorInfo | None
    color_name: str | None       # as the catalog says it
    denim: bool = False

    def to_dict(self) -> dict:
        return {"group": self.group, "category": self.category, "gender": self.gender, "usage": self.usage,
                "season": self.season, "color": self.color.name if self.color else self.color_name,
                "denim": self.denim}


def traits_of(values: Mapping[str, str | None], roles: RoleNames, definition: SlotDefinition) -> Traits:
    """Traits from attribute values (a product's metadata or an anchor's inferred attributes)."""
    def get(attr: str | None) -> str | None:
        return values.get(attr) if attr else None

    category = get(roles.category)
    material = get(roles.material) or ""
    color_name = get(roles.color)
    color = color_info(color_name)
    denim = "denim" in material or (category is not None and category_key(category) in DENIM_CATEGORIES)
    # Blue denim reads as a neutral ("jeans go with everything"); black or white denim keeps its colour.
    if denim and (color is None or (color.kind == "chromatic" and 200 <= color.ryb_hue <= 260)
                  or color.name in ("navy blue", "denim")):
        color = color_info("denim")
    tables = definition.tables
    return Traits(definition.group_of(category), category, tables["gender"].canonical(get(roles.gender)),
                  tables["occasion"].canonical(get(roles.usage)), tables["season"].canonical(get(roles.season)),
                  color, color_name, denim)


def _codes(values: list[str | None]) -> tuple[list[str], np.ndarray]:
    """(distinct values, code per item); code len(distinct) means unknown."""
    distinct = sorted({v for v in values if v is not None})
    lookup = {v: i for i, v in enumerate(distinct)}
    return distinct, np.array([lookup.get(v, len(distinct)) if v is not None else len(distinct) for v in values],
                              dtype=np.int32)


@dataclass
class Wardrobe:
    """An index seen through the slot definition: traits, groups and calibration per product."""

    index: Index
    definition: SlotDefinition
    roles: RoleNames
    traits: list[Traits]
    groups: dict[str, np.ndarray]                       # group -> product positions
    in_stock: np.ndarray                                # False only where the catalog says out of stock
    codes: dict[str, tuple[list[str], np.ndarray]] = field(default_factory=dict)
    colors: tuple[list[ColorInfo | None], np.ndarray] = field(default_factory=lambda: ([], np.zeros(0)))
    style_mean: float = 0.0
    style_std: float = 1.0

    @classmethod
    def build(cls, index: Index, definition: SlotDefinition, *, seed: int = 0) -> "Wardrobe":
        roles = RoleNames.of(index.vocabulary.attributes())
        traits = [traits_of({a: (v[0] if v else None) for a, v in p.attributes.items()}, roles, definition)
                  for p in index.products]
        groups: dict[str, list[int]] = {}
        for pos, t in enumerate(traits):
            if t.group:
                groups.setdefault(t.group, []).append(pos)
        in_stock = np.array([p.in_stock is not False for p in index.products], dtype=bool)
        codes = {
            "gender": _codes([t.gender for t in traits]),
            "occasion": _codes([t.usage for t in traits]),
            "season": _codes([t.season for t in traits]),
        }
        names = sorted({t.color.name for t in traits if t.color})
        infos: list[ColorInfo | None] = [color_info(n) for n in names]
        lookup = {n: i for i, n in enumerate(names)}
        color_codes = np.array([lookup[t.color.name] if t.color else len(names) for t in traits], dtype=np.int32)
        wardrobe = cls(index, definition, roles, traits, {g: np.array(p, dtype=np.int64) for g, p in groups.items()},
                       in_stock, codes, (infos + [None], color_codes))
        wardrobe._calibrate_style(seed)
        return wardrobe

    def _calibrate_style(self, seed: int) -> None:
        """Mean and spread of image similarity between garments of different groups.

        Raw cosine similarities mean different things for different encoders; scoring a pair by how
        far it sits above a typical cross-group pair makes the style cue comparable across models.
        """
        grouped = [p for g in sorted(self.groups) for p in self.groups[g]]
        if len(self.groups) < 2 or len(grouped) < 2:
            return
        rng = np.random.default_rng(seed)
        a = rng.choice(grouped, STYLE_CALIBRATION_PAIRS)
        b = rng.choice(grouped, STYLE_CALIBRATION_PAIRS)
        keep = np.array([self.traits[i].group != self.traits[j].group for i, j in zip(a, b)])
        if keep.sum() < 10:
            return
        vecs = self.index.image_vectors
        sims = np.einsum("ij,ij->i", vecs[a[keep]], vecs[b[keep]])
        self.style_mean = float(sims.mean())
        self.style_std = max(float(sims.std()), 1e-3)

    def style_score(self, cosine: np.ndarray | float) -> np.ndarray | float:
        """Image similarity mapped to 0..1; 0.5 is a typical pair of garments from different groups."""
        z = (np.asarray(cosine, dtype=np.float64) - self.style_mean) / self.style_std
        out = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        return float(out) if out.ndim == 0 else out

    def fit_vector(self, trait: str, wanted: str | None, positions: np.ndarray) -> np.ndarray:
        """Fit (0..1) of each product at ``positions`` for the outfit's wanted value of ``trait``."""
        table = self.definition.tables[trait]
        values, codes = self.codes[trait]
        per_value = np.array([table.score(wanted, v) for v in values] + [table.score(wanted, None)])
        return per_value[codes[positions]]

    def harmony_vector(self, anchor_color: ColorInfo | None, positions: np.ndarray) -> np.ndarray:

        infos, codes = self.colors
        per_color = np.array([harmony(anchor_color, c).score for c in infos])
        return per_color[codes[positions]]

